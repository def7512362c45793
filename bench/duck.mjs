// duck.mjs — run SQL statements in DuckDB (the @duckdb/node-api peer) and print
// the wall time of each and the rows of the last, for bench/run.sh.
//   node duck.mjs THREADS 'SQL1' 'SQL2' ...
import { DuckDBInstance } from '@duckdb/node-api';
const [threads, ...sqls] = process.argv.slice(2);
const db = await DuckDBInstance.create(':memory:', { threads: String(threads || 2) });
const con = await db.connect();
let last;
for (const sql of sqls) {
  const t0 = process.hrtime.bigint();
  last = await con.runAndReadAll(sql);
  const dt = Number(process.hrtime.bigint() - t0) / 1e9;
  console.error(`duckdb ${dt.toFixed(3)}s ${sql.slice(0, 60)}`);
}
if (last) for (const r of last.getRows().slice(0, 5)) console.log(r.map(String).join(','));
