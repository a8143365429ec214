// Notebook output: offline Plotly charts, HTML tables, progress displays, and the display seam under them.
//
//   import { lineChart, heatmap, showTable, progress, livePlot } from "../lib/viz";
//
// (Folder imports work in notebooks through our tslab patch in patches/; stock tslab 1.0.22 only adds ".js".)

export { captureDisplays, inKernel, isHeadless, escapeHtml, formatNumber, show } from "./display";
export type { DisplayOutput, Showable } from "./display";
export { lineChart, heatmap, scatter, barChart } from "./plot";
export { loadPlotly, resetPlotlyBundle } from "./plotly_bundle";
export { livePlot } from "./live";
export type { Figure, Series, LineChartOptions, HeatmapOptions, ScatterPoint, ScatterOptions, Bar, BarGroup, BarChartOptions } from "./plot";
export type { LivePlot, LivePlotOptions } from "./live";
export { showTable } from "./table";
export type { FrameLike, Row, TableOptions, Table, CellColours } from "./table";
export { progress, duration } from "./progress";
export type { Progress, ProgressOptions, Metrics, ProgressMode } from "./progress";
export { probeHeatmap, ckaHeatmap, projectionScatter, selfSimilarityChart, sentenceMap, headTypeHeatmap, attentionHeatmap } from "./analysis";
export type { ProbeValue } from "./analysis";
export { studentsView, temperatureView } from "./distill";
export type { StudentRow, StudentsViewOptions, TemperatureViewOptions } from "./distill";
export { alignmentHeatmap, movingAverage } from "./alignment";
export type { AlignmentView } from "./alignment";
