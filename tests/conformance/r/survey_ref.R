# survey_ref.R — conformance of `nmdi survey` with R's survey package.
# Usage: Rscript survey_ref.R NMDI APIDIR TMPDIR
# For each case it builds the design in R (svydesign, svrepdesign,
# calibrate), computes every estimate as svyby does (the design subset to
# the domain, na.rm = TRUE), runs nmdi on the same CSV file and compares
# every estimate and SE to a relative 1e-9, the unweighted n exactly, and
# the cv/ci columns against the formulas. Prints one line per case:
# "PASS name" or "FAIL name" followed by "# detail" lines.
args <- commandArgs(TRUE)
nmdi <- args[1]; apidir <- args[2]; tmp <- args[3]
suppressMessages(library(survey))
options(warn = -1)
TOL <- 1e-9

api <- function(f) read.csv(file.path(apidir, f))
wcsv <- function(df, name) {
  f <- file.path(tmp, name)
  write.csv(df, f, row.names = FALSE)
  f
}

run_nmdi <- function(file, nargs) {
  out <- file.path(tmp, "nmdi-out.csv")
  unlink(out)
  res <- suppressWarnings(system2(nmdi, c("survey", shQuote(file), sapply(nargs, shQuote), "-o", shQuote(out)),
                 stdout = TRUE, stderr = TRUE))
  st <- attr(res, "status")
  if (!is.null(st) && st != 0) return(list(err = paste(res, collapse = "\n"), status = st))
  list(df = read.csv(out, colClasses = "character", check.names = FALSE), status = 0)
}

bt <- function(v) paste0("`", v, "`")
fml <- function(v) as.formula(paste0("~", bt(v)))

# Reference rows: one per estimate (and category) per domain.
# est: list of c(stat, var[, den]); raw: the file read as character.
reference <- function(des, raw, est, by = character()) {
  rows <- list()
  if (length(by)) {
    keep <- rep(TRUE, nrow(raw))
    for (b in by) keep <- keep & !is.na(raw[[b]]) & raw[[b]] != "" & raw[[b]] != "NA"
    doms <- unique(raw[keep, by, drop = FALSE])
  } else {
    doms <- data.frame(row.names = 1)
  }
  for (k in seq_len(nrow(doms))) {
    if (length(by)) {
      sel <- rep(TRUE, nrow(raw))
      for (b in by) sel <- sel & raw[[b]] == doms[k, b] & !is.na(raw[[b]])
      sub <- des[which(sel), ]
      dvals <- unlist(doms[k, by, drop = TRUE])
    } else {
      sel <- rep(TRUE, nrow(raw)); sub <- des; dvals <- character()
    }
    dkey <- paste(c(dvals, ""), collapse = "|")
    for (e in est) {
      st <- e[1]; v <- e[2]
      missing_v <- function(x) is.na(x) | x == "" | x == "NA"
      if (st == "ratio") {
        d <- e[3]
        nn <- sum(sel & !missing_v(raw[[v]]) & !missing_v(raw[[d]]))
        if (nn == 0) { rows[[length(rows) + 1]] <- data.frame(key = paste0(dkey, "ratio|", v, "/", d),
                         est = NA, se = NA, n = 0); next }
        r <- svyratio(fml(v), fml(d), sub, na.rm = TRUE)
        rows[[length(rows) + 1]] <- data.frame(key = paste0(dkey, "ratio|", v, "/", d),
          est = as.numeric(coef(r)), se = as.numeric(SE(r)), n = nn)
      } else if (st == "prop") {
        nn <- sum(sel & !missing_v(raw[[v]]))
        fv <- paste0("F__", v)
        if (nn == 0) {
          cats <- levels(des$variables[[fv]])
          rows[[length(rows) + 1]] <- data.frame(key = paste0(dkey, "prop|", v, "=", cats), est = NA, se = NA, n = 0)
          next
        }
        s <- svymean(fml(fv), sub, na.rm = TRUE)
        cats <- substring(names(coef(s)), nchar(fv) + 1)
        rows[[length(rows) + 1]] <- data.frame(key = paste0(dkey, "prop|", v, "=", cats),
          est = as.numeric(coef(s)), se = as.numeric(SE(s)), n = nn)
      } else {
        nn <- sum(sel & !missing_v(raw[[v]]))
        if (nn == 0) { rows[[length(rows) + 1]] <- data.frame(key = paste0(dkey, st, "|", v), est = NA, se = NA, n = 0); next }
        s <- if (st == "total") svytotal(fml(v), sub, na.rm = TRUE) else svymean(fml(v), sub, na.rm = TRUE)
        rows[[length(rows) + 1]] <- data.frame(key = paste0(dkey, st, "|", v),
          est = as.numeric(coef(s)), se = as.numeric(SE(s)), n = nn)
      }
    }
  }
  do.call(rbind, rows)
}

close_enough <- function(a, b) {
  both_na <- !is.finite(a) & !is.finite(b)
  both_na | (is.finite(a) & is.finite(b) & abs(a - b) <= TOL * pmax(abs(a), abs(b), 1e-300)) |
    (is.finite(a) & is.finite(b) & abs(a - b) <= 1e-13)
}

nfail <- 0
check_case <- function(name, file, nargs, des, est, by = character(), raw = NULL) {
  if (is.null(raw)) raw <- read.csv(file, colClasses = "character", check.names = FALSE)
  msgs <- character()
  ref <- tryCatch(reference(des, raw, est, by), error = function(e) e)
  if (inherits(ref, "error")) {
    msgs <- c(msgs, paste("R failed:", conditionMessage(ref)))
  } else {
    nargs2 <- nargs
    for (e in est) nargs2 <- c(nargs2, paste0("--", e[1]), if (e[1] == "ratio") paste0(e[2], "/", e[3]) else e[2])
    if (length(by)) nargs2 <- c(nargs2, "--by", paste(by, collapse = ","))
    r <- run_nmdi(file, nargs2)
    if (r$status != 0) {
      msgs <- c(msgs, paste("nmdi failed:", r$err))
    } else {
      o <- r$df
      want <- c(by, "statistic", "variable", "estimate", "se", "cv", "ci_low", "ci_high", "n")
      if (!identical(names(o), want)) msgs <- c(msgs, paste("header:", paste(names(o), collapse = ",")))
      dk <- if (length(by)) do.call(paste, c(lapply(by, function(b) o[[b]]), list(sep = "|"))) else rep("", nrow(o))
      okey <- paste0(if (length(by)) paste0(dk, "|") else "", o$statistic, "|", o$variable)
      m <- match(ref$key, okey)
      if (any(is.na(m))) msgs <- c(msgs, paste("missing rows:", paste(head(ref$key[is.na(m)], 5), collapse = "; ")))
      if (nrow(o) != nrow(ref)) msgs <- c(msgs, sprintf("%d rows, R has %d", nrow(o), nrow(ref)))
      ok <- !is.na(m)
      num <- function(x) suppressWarnings(as.numeric(x))
      e_n <- num(o$estimate[m[ok]]); s_n <- num(o$se[m[ok]])
      bad <- which(!close_enough(e_n, ref$est[ok]) | !close_enough(s_n, ref$se[ok]) |
                   num(o$n[m[ok]]) != ref$n[ok])
      for (i in head(bad, 5))
        msgs <- c(msgs, sprintf("%s: nmdi %s (se %s, n %s), R %.17g (se %.17g, n %d)", ref$key[ok][i],
                                o$estimate[m[ok]][i], o$se[m[ok]][i], o$n[m[ok]][i], ref$est[ok][i], ref$se[ok][i], ref$n[ok][i]))
      z <- qnorm(0.975)
      cil <- num(o$ci_low); cih <- num(o$ci_high); est <- num(o$estimate); se <- num(o$se); cv <- num(o$cv)
      badci <- which(!close_enough(cil, est - z * se) | !close_enough(cih, est + z * se) |
                     (is.finite(se) & est != 0 & !close_enough(cv, se / est)))
      if (length(badci)) msgs <- c(msgs, paste("cv/ci wrong in rows", paste(head(badci, 5), collapse = ",")))
      if (nrow(ref) == 0) msgs <- c(msgs, "no reference rows")
    }
  }
  if (length(msgs)) {
    nfail <<- nfail + 1
    cat("FAIL", name, "\n")
    cat(paste("#", msgs), sep = "\n")
    cat("\n")
  } else {
    cat("PASS", name, sprintf("(%d rows)", nrow(ref)), "\n")
  }
}

check_error <- function(name, file, nargs, rexpr, pattern) {
  rerr <- tryCatch({ force(rexpr); FALSE }, error = function(e) TRUE)
  r <- run_nmdi(file, nargs)
  if (rerr && r$status == 1 && grepl(pattern, r$err)) cat("PASS", name, "\n")
  else {
    nfail <<- nfail + 1
    cat("FAIL", name, "\n# R error:", rerr, " nmdi status:", r$status, " message:", r$err, "\n")
  }
}

add_factors <- function(df, vars) {
  for (v in vars) df[[paste0("F__", v)]] <- factor(df[[v]])
  df
}

EST <- list(c("mean", "api00"), c("total", "enroll"), c("ratio", "api00", "api99"),
            c("prop", "stype"), c("mean", "acs.k3"))
EST2 <- list(c("mean", "api00"), c("total", "enroll"), c("ratio", "api00", "api99"),
             c("prop", "sch.wide"), c("total", "acs.k3"))

## ---- Taylor designs ---------------------------------------------------------------
strat <- add_factors(api("apistrat.csv"), c("stype", "sch.wide"))
fstrat <- file.path(apidir, "apistrat.csv")
dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = strat, fpc = ~fpc)
check_case("stratified, fpc (apistrat)", fstrat, c("--strata", "stype", "--weights", "pw", "--fpc", "fpc"),
           dstrat, EST2)
check_case("stratified, fpc, domains sch.wide x awards", fstrat,
           c("--strata", "stype", "--weights", "pw", "--fpc", "fpc"), dstrat, EST2, c("sch.wide", "awards"))
check_case("stratified, no fpc, ids 1", fstrat, c("--ids", "1", "--strata", "stype", "--weights", "pw"),
           svydesign(id = ~1, strata = ~stype, weights = ~pw, data = strat), EST2, "stype")
sf <- strat; sf$frac <- as.vector(table(sf$stype)[sf$stype]) / sf$fpc
ffrac <- wcsv(sf[, !grepl("^F__", names(sf))], "strat_frac.csv")
check_case("stratified, fpc as fractions, weights from fpc", ffrac, c("--strata", "stype", "--fpc", "frac"),
           svydesign(id = ~1, strata = ~stype, data = sf, fpc = ~frac), EST2, "awards")

clus1 <- add_factors(api("apiclus1.csv"), c("stype", "sch.wide"))
fclus1 <- file.path(apidir, "apiclus1.csv")
dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = clus1, fpc = ~fpc)
check_case("one-stage cluster, fpc (apiclus1)", fclus1, c("--ids", "dnum", "--weights", "pw", "--fpc", "fpc"),
           dclus1, EST)
check_case("one-stage cluster, fpc, domains stype", fclus1, c("--ids", "dnum", "--weights", "pw", "--fpc", "fpc"),
           dclus1, EST2, "stype")
check_case("one-stage cluster, no fpc", fclus1, c("--ids", "dnum", "--weights", "pw"),
           svydesign(id = ~dnum, weights = ~pw, data = clus1), EST, "sch.wide")

clus2 <- add_factors(api("apiclus2.csv"), c("stype", "sch.wide"))
fclus2 <- file.path(apidir, "apiclus2.csv")
dclus2 <- svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2, data = clus2)
check_case("two-stage cluster, fpc per stage (apiclus2)", fclus2, c("--ids", "dnum,snum", "--fpc", "fpc1,fpc2"),
           dclus2, EST)
check_case("two-stage cluster, fpc per stage, domains stype", fclus2,
           c("--ids", "dnum,snum", "--fpc", "fpc1,fpc2"), dclus2, EST2, "stype")
check_case("two-stage cluster, weights and fpc", fclus2,
           c("--ids", "dnum,snum", "--fpc", "fpc1,fpc2", "--weights", "pw"),
           svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2, weights = ~pw, data = clus2), EST2, "sch.wide")
check_case("two-stage cluster, no fpc (ultimate cluster)", fclus2, c("--ids", "dnum,snum", "--weights", "pw"),
           svydesign(id = ~dnum + snum, weights = ~pw, data = clus2), EST)

check_case("stratified cluster with --nest", fstrat, c("--ids", "dnum", "--strata", "stype", "--weights", "pw", "--nest"),
           svydesign(id = ~dnum, strata = ~stype, weights = ~pw, nest = TRUE, data = strat), EST2, "sch.wide")
check_error("clusters not nested without --nest: error", fstrat,
            c("--ids", "dnum", "--strata", "stype", "--weights", "pw", "--mean", "api00"),
            svydesign(id = ~dnum, strata = ~stype, weights = ~pw, data = strat), "not nested")

## ---- lonely PSUs ------------------------------------------------------------------------
lon <- strat[strat$stype != "H" | strat$snum == strat$snum[strat$stype == "H"][1], ]
flon <- wcsv(lon[, !grepl("^F__", names(lon))], "lonely.csv")
for (opt in c("certainty", "remove", "adjust", "average")) {
  options(survey.lonely.psu = opt)
  dl <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = lon)
  check_case(paste("lonely PSU", opt), flon, c("--strata", "stype", "--weights", "pw", "--lonely-psu", opt), dl, EST2)
  check_case(paste("lonely PSU", opt, "domains"), flon,
             c("--strata", "stype", "--weights", "pw", "--lonely-psu", opt), dl, EST2, "sch.wide")
  dl2 <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = lon, fpc = ~fpc)
  check_case(paste("lonely PSU", opt, "with fpc"), flon,
             c("--strata", "stype", "--weights", "pw", "--fpc", "fpc", "--lonely-psu", opt), dl2, EST2, "awards")
}
# lonely PSUs at stage 2: districts with one sampled school out of several
c2 <- clus2; c2$fpc2b <- c2$fpc2 + 5
fc2 <- wcsv(c2[, !grepl("^F__", names(c2))], "lonely2.csv")
for (opt in c("certainty", "adjust", "average")) {
  options(survey.lonely.psu = opt)
  check_case(paste("lonely PSU at stage 2,", opt), fc2,
             c("--ids", "dnum,snum", "--fpc", "fpc1,fpc2b", "--lonely-psu", opt),
             svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2b, data = c2), EST, "stype")
}
options(survey.lonely.psu = "fail")
check_error("lonely PSU at stage 2, fail: error", fc2, c("--ids", "dnum,snum", "--fpc", "fpc1,fpc2b", "--mean", "api00"),
            svymean(~api00, svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2b, data = c2)), "only one PSU at stage 2")
check_error("lonely PSU fail: error", flon, c("--strata", "stype", "--weights", "pw", "--mean", "api00"),
            svymean(~api00, svydesign(id = ~1, strata = ~stype, weights = ~pw, data = lon)), "only one PSU")

## ---- replicate weights --------------------------------------------------------------------
repcase <- function(name, des, rtype, base, by = character(), est = EST2, extra = character(), rargs = list()) {
  rw <- weights(des, "analysis")
  colnames(rw) <- paste0("repw", seq_len(ncol(rw)))
  df <- base[, !grepl("^F__", names(base))]
  df$fullw <- weights(des, "sampling")
  df <- cbind(df, rw)
  f <- wcsv(df, paste0("rep_", gsub("[^A-Za-z0-9]", "_", name), ".csv"))
  d2 <- add_factors(read.csv(f), c("stype", "sch.wide"))
  rd <- do.call(svrepdesign, c(list(data = d2, repweights = "^repw[0-9]+$", weights = ~fullw, type = rtype,
                                    combined.weights = TRUE), rargs))
  check_case(name, f, c("--repweights", "^repw[0-9]+$", "--type", rtype, "--weights", "fullw", extra), rd, est, by)
}
set.seed(20261127)
repcase("JK1 (apiclus1)", as.svrepdesign(dclus1, type = "JK1"), "JK1", clus1, "stype")
repcase("JK1 --mse", as.svrepdesign(dclus1, type = "JK1"), "JK1", clus1, "stype", extra = "--mse",
        rargs = list(mse = TRUE))
jkn <- as.svrepdesign(svydesign(id = ~1, strata = ~stype, weights = ~pw, data = strat), type = "JKn")
repcase("JKn (apistrat), factors from --strata", jkn, "JKn", strat, "sch.wide", extra = c("--strata", "stype"),
        rargs = list(rscales = jkn$rscales))
jkn2 <- as.svrepdesign(svydesign(id = ~dnum, strata = ~stype, weights = ~pw, nest = TRUE, data = strat), type = "JKn")
repcase("JKn clustered, factors from --strata/--ids --nest", jkn2, "JKn", strat,
        extra = c("--strata", "stype", "--ids", "dnum", "--nest"), rargs = list(rscales = jkn2$rscales))
repcase("JKn with --rscales given", jkn2, "JKn", strat, "stype",
        extra = c("--rscales", paste(format(jkn2$rscales, digits = 17), collapse = ",")),
        rargs = list(rscales = jkn2$rscales))
repcase("JK1 with --scale and --rscales", as.svrepdesign(dclus1, type = "JK1"), "JK1", clus1,
        extra = c("--scale", "0.75", "--rscales", paste(rep(c(1, 0.5), 8)[1:15], collapse = ",")),
        rargs = list(scale = 0.75, rscales = rep(c(1, 0.5), 8)[1:15]))
local({
  f <- list.files(tmp, "^rep_JKn_clustered.*csv$", full.names = TRUE)[1]
  r <- run_nmdi(f, c("--repweights", "^repw[0-9]+$", "--type", "JKn", "--weights", "fullw", "--strata", "stype",
                     "--mean", "api00"))
  if (r$status == 1 && grepl("PSU", r$err)) cat("PASS JKn without the design's --ids: error, not a wrong factor\n")
  else { nfail <<- nfail + 1; cat("FAIL JKn without the design's --ids: error, not a wrong factor\n# status", r$status, r$err, "\n") }
})
# BRR and Fay need two PSUs per stratum: pairs of schools within school type
pr <- strat[order(strat$stype, strat$snum), ]
pr$pair <- paste0(pr$stype, (ave(seq_len(nrow(pr)), pr$stype, FUN = seq_along) + 1) %/% 2)
pr$half <- ave(seq_len(nrow(pr)), pr$pair, FUN = seq_along)
dpair <- svydesign(id = ~half, strata = ~pair, weights = ~pw, nest = TRUE, data = pr)
repcase("BRR (paired apistrat)", as.svrepdesign(dpair, type = "BRR"), "BRR", pr, "stype")
repcase("Fay rho 0.3", as.svrepdesign(dpair, type = "Fay", fay.rho = 0.3), "Fay", pr, "sch.wide",
        extra = c("--rho", "0.3"), rargs = list(rho = 0.3))
repcase("Fay rho 0.5 --mse", as.svrepdesign(dpair, type = "Fay", fay.rho = 0.5), "Fay", pr,
        extra = c("--rho", "0.5", "--mse"), rargs = list(rho = 0.5, mse = TRUE))
repcase("bootstrap (apiclus1, 50 replicates)", as.svrepdesign(dclus1, type = "bootstrap", replicates = 50),
        "bootstrap", clus1, "stype")

## ---- calibration --------------------------------------------------------------------------
pop <- api("apipop.csv")
margins <- function(vars, numeric = character(), intercept = FALSE) {
  rows <- list()
  if (intercept) rows[[1]] <- data.frame(variable = "(Intercept)", category = "", total = nrow(pop))
  for (v in vars) {
    tb <- table(pop[[v]])
    rows[[length(rows) + 1]] <- data.frame(variable = v, category = names(tb), total = as.vector(tb))
  }
  for (v in numeric) rows[[length(rows) + 1]] <- data.frame(variable = v, category = "", total = sum(pop[[v]]))
  do.call(rbind, rows)
}
m1 <- wcsv(margins(c("stype", "sch.wide")), "margins_rake.csv")
pt1 <- c(`(Intercept)` = nrow(pop), stypeH = sum(pop$stype == "H"), stypeM = sum(pop$stype == "M"),
         sch.wideYes = sum(pop$sch.wide == "Yes"))
has_mass <- requireNamespace("MASS", quietly = TRUE)
for (cf in c("raking", "linear")) {
  if (cf == "raking" && !has_mass) { cat("SKIP raking calibration: R package MASS (r-cran-mass) not installed\n"); next }
  dc <- calibrate(dclus1, ~stype + sch.wide, pt1, calfun = cf)
  check_case(paste("calibration", cf, "stype+sch.wide (apiclus1)"), fclus1,
             c("--ids", "dnum", "--weights", "pw", "--fpc", "fpc", "--calibrate", cf, "--margins", m1), dc, EST)
  check_case(paste("calibration", cf, "domains"), fclus1,
             c("--ids", "dnum", "--weights", "pw", "--fpc", "fpc", "--calibrate", cf, "--margins", m1), dc, EST2,
             "stype")
}
m2 <- wcsv(margins("stype", numeric = "api99"), "margins_lin.csv")
pt2 <- c(`(Intercept)` = nrow(pop), stypeH = sum(pop$stype == "H"), stypeM = sum(pop$stype == "M"),
         api99 = sum(pop$api99))
check_case("linear calibration stype+api99 (apistrat)", fstrat,
           c("--strata", "stype", "--weights", "pw", "--fpc", "fpc", "--calibrate", "linear", "--margins", m2),
           calibrate(dstrat, ~stype + api99, pt2, calfun = "linear"), EST2, "sch.wide")
if (has_mass) {
m3 <- wcsv(margins(character(), numeric = "api99", intercept = TRUE), "margins_int.csv")
check_case("raking to N and api99 total (apiclus2)", fclus2,
           c("--ids", "dnum,snum", "--fpc", "fpc1,fpc2", "--calibrate", "raking", "--margins", m3),
           calibrate(dclus2, ~api99, c(`(Intercept)` = nrow(pop), api99 = sum(pop$api99)), calfun = "raking"),
           EST, "stype")
} else cat("SKIP raking to N and api99: R package MASS (r-cran-mass) not installed\n")
cat(if (nfail) "SOME FAILED" else "ALL PASSED", "\n")
