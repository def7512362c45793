// echarts-setup.js — the parts of Apache ECharts the portal uses (tree-shaken,
// SVG renderer with ARIA descriptions). Loaded lazily after first paint.
import * as echarts from 'echarts/core';
import { BarChart, LineChart, RadarChart, GraphChart, CustomChart } from 'echarts/charts';
import { GridComponent, TooltipComponent, LegendComponent, AriaComponent, RadarComponent } from 'echarts/components';
import { SVGRenderer } from 'echarts/renderers';

echarts.use([BarChart, LineChart, RadarChart, GraphChart, CustomChart,
  GridComponent, TooltipComponent, LegendComponent, AriaComponent, RadarComponent, SVGRenderer]);
export default echarts;
