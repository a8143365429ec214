// Tables in notebooks: dataset previews, result tables, and token tables with coloured cells (ELECTRA:
// which tokens the generator replaced).
//
// showTable takes a danfojs DataFrame or plain row objects. It reads a DataFrame only through `columns` and
// `values`, so this file never loads danfojs (which takes ~1 s and pulls in tfjs): notebooks that want
// DataFrame operations import "danfojs-node" themselves and pass the result here.
//
//   showTable(rows, { title: "SST-2, first rows", maxRows: 5 });
//   showTable(df, { precision: 3 });
//   showTable([{ t0: "the", t1: "cat" }], { colours: [["", "#f4a6a6"]], cellTitles: [["", "original: dog"]] });

import { escapeHtml, formatNumber, show, summarised } from "./display";

/** What showTable needs from a danfojs DataFrame (or anything shaped like one). */
export interface FrameLike {
  columns: string[];
  values: unknown[][] | unknown[];
}

export type Row = Record<string, unknown>;

/** A cell colour by position, or a function of the cell; "" / undefined = no colour. */
export type CellColours = (string | undefined | null)[][] | ((row: number, column: string, value: unknown) => string | undefined | null);

export interface TableOptions {
  title?: string;
  /** Show at most this many rows; a footer says how many were left out. */
  maxRows?: number;
  /** Significant digits for non-integer numbers. */
  precision?: number;
  /** Per-cell background colours, [row][column] in displayed column order, or a function. */
  colours?: CellColours;
  /** Per-cell hover text, [row][column] (e.g. the original token under a replaced one). */
  cellTitles?: (string | undefined | null)[][];
  /** Only these columns, in this order. */
  columns?: string[];
  /** false: only build the table (for tests or to show later). */
  show?: boolean;
}

export interface Table {
  columns: string[];
  /** The displayed rows (after maxRows), cells as shown. */
  cells: string[][];
  totalRows: number;
  html: string;
  text: string;
}

// Named colours, #rgb/#rrggbb(aa), rgb()/rgba()/hsl()/hsla(): enough for tables, and nothing that could
// close the style attribute or add other CSS.
const SAFE_COLOUR = /^(#[0-9a-f]{3,8}|[a-z]{3,20}|(rgb|rgba|hsl|hsla)\([0-9.,%\s]+\))$/i;

/** Show a DataFrame or rows as an HTML table (text table outside a notebook). Returns what was shown. */
export function showTable(data: FrameLike | Row[], options: TableOptions = {}): Table {
  const maxRows = options.maxRows ?? 20;
  const precision = options.precision ?? 4;
  if (!Number.isInteger(maxRows) || maxRows < 1) throw new Error(`showTable maxRows (${maxRows}) must be an integer >= 1`);
  if (!Number.isInteger(precision) || precision < 1 || precision > 17) {
    throw new Error(`showTable precision (${precision}) must be an integer from 1 to 17 significant digits`);
  }
  const { columns: allColumns, rows } = toColumnsAndRows(data);
  const columns = options.columns ?? allColumns;
  for (const c of columns) {
    if (!allColumns.includes(c)) throw new Error(`showTable column "${c}" is not in the data: it has ${allColumns.join(", ")}`);
  }
  const shown = rows.slice(0, maxRows);
  const cellValues = shown.map((r) => columns.map((c) => r[allColumns.indexOf(c)]));
  const cells = alignDecimals(cellValues, cellValues.map((r) => r.map((v) => formatCell(v, precision))));

  const colourAt = (i: number, j: number): string | undefined => {
    const c = options.colours;
    if (!c) return undefined;
    const value = typeof c === "function" ? c(i, columns[j], cellValues[i][j]) : c[i]?.[j];
    if (value === undefined || value === null || value === "") return undefined;
    if (!SAFE_COLOUR.test(value)) {
      throw new Error(`showTable colour ${JSON.stringify(value)} at row ${i}, column "${columns[j]}" is not a colour: use a name, #rrggbb or rgb(...)`);
    }
    return value;
  };

  const numeric = columns.map((_, j) => cellValues.length > 0 && cellValues.every((r) => typeof r[j] === "number"));
  const cellPad = "padding:2px 8px;border-bottom:1px solid #ddd";
  const th = columns
    .map((c, j) => `<th style="${cellPad};text-align:${numeric[j] ? "right" : "left"}">${escapeHtml(c)}</th>`)
    .join("");
  const body = cells
    .map((r, i) => {
      const tds = r.map((cell, j) => {
        const style = [cellPad, `text-align:${numeric[j] ? "right" : "left"}`];
        const colour = colourAt(i, j);
        if (colour) style.push(`background:${colour}`);
        const title = options.cellTitles?.[i]?.[j];
        const titleAttr = title ? ` title="${escapeHtml(title)}"` : "";
        return `<td style="${style.join(";")}"${titleAttr}>${escapeHtml(cell)}</td>`;
      });
      return `<tr>${tds.join("")}</tr>`;
    })
    .join("\n");
  const more = rows.length - shown.length;
  const footer = more > 0 ? `${more.toLocaleString("en")} more rows (showing ${shown.length} of ${rows.length.toLocaleString("en")})` : "";
  const html =
    `<div class="nlu-table" style="overflow-x:auto;max-width:100%">` +
    (options.title ? `<div style="font-weight:bold;margin:4px 0">${escapeHtml(options.title)}</div>` : "") +
    `<table style="border-collapse:collapse;font-size:13px">` +
    `<thead><tr>${th}</tr></thead>\n<tbody>\n${body}\n</tbody></table>` +
    (footer ? `<div style="color:#666;font-size:12px;margin-top:2px">… ${escapeHtml(footer)}</div>` : "") +
    `</div>`;
  const text = textTable(options.title, columns, cells, footer);
  if (options.show !== false) show({ html, text });
  // Printed, the table is one line (not the whole table again); once shown, a kernel does not echo it at all.
  const summary = `[table] ${options.title ? options.title + " — " : ""}${rows.length} rows × ${columns.length} columns`;
  return summarised({ columns, cells, totalRows: rows.length, html, text }, summary, options.show !== false);
}

function toColumnsAndRows(data: FrameLike | Row[]): { columns: string[]; rows: unknown[][] } {
  if (Array.isArray(data)) {
    // Columns in first-seen order over all rows: a key missing in the first row still gets its column.
    const columns: string[] = [];
    data.forEach((row, i) => {
      if (row === null || typeof row !== "object" || Array.isArray(row)) {
        throw new Error(`showTable rows[${i}] is ${JSON.stringify(row)}: pass objects like { text: "...", label: 1 }`);
      }
      for (const k of Object.keys(row)) if (!columns.includes(k)) columns.push(k);
    });
    return { columns, rows: data.map((row) => columns.map((c) => row[c])) };
  }
  if (data && Array.isArray(data.columns) && Array.isArray(data.values)) {
    // danfojs gives a one-column frame's values as a flat array.
    const values = data.values as unknown[];
    const rows = values.map((r) => (Array.isArray(r) ? r : [r]));
    return { columns: data.columns.map(String), rows };
  }
  throw new Error("showTable needs a danfojs DataFrame or an array of row objects (a Series: use series.toJSON() rows or new DataFrame)");
}

/**
 * One number of decimals per numeric column, the most any of its cells needs at the table's precision: a
 * column reads 0.770 beside 0.763 (not 0.77), 1.000 beside 0.894, and 0.003 stays 0.003. Cells written with an
 * exponent, NaN dashes and non-numbers are left as they are.
 */
function alignDecimals(values: unknown[][], cells: string[][]): string[][] {
  const plain = (v: unknown, s: string): v is number => typeof v === "number" && Number.isFinite(v) && !/e/i.test(s);
  const columns = values[0]?.length ?? 0;
  const decimals = Array.from({ length: columns }, (_, j) =>
    Math.max(0, ...values.map((r, i) => (plain(r[j], cells[i][j]) ? (cells[i][j].split(".")[1] ?? "").length : 0))),
  );
  return cells.map((r, i) => r.map((s, j) => (plain(values[i][j], s) && decimals[j] > 0 ? (values[i][j] as number).toFixed(decimals[j]) : s)));
}

function formatCell(v: unknown, precision: number): string {
  if (v === null || v === undefined) return "";
  // NaN marks a value that does not apply (a report's accuracy row has no precision): a dash, as an empty cell
  // would read as "forgotten".
  if (typeof v === "number" && Number.isNaN(v)) return "—";
  if (typeof v === "number") return formatNumber(v, precision);
  if (typeof v === "string") return v;
  if (typeof v === "boolean" || typeof v === "bigint") return String(v);
  if (Array.isArray(v)) return v.map((x) => formatCell(x, precision)).join(" ");
  return JSON.stringify(v);
}

// A fixed-width table for consoles and logs; long cells are cut so one row stays one line.
function textTable(title: string | undefined, columns: string[], cells: string[][], footer: string): string {
  const cut = (s: string): string => (s.length > 40 ? s.slice(0, 39) + "…" : s).replace(/\s+/g, " ");
  const grid = [columns, ...cells].map((r) => r.map(cut));
  const widths = columns.map((_, j) => Math.max(...grid.map((r) => r[j].length)));
  const line = (r: string[]): string => r.map((c, j) => c.padEnd(widths[j])).join("  ").trimEnd();
  const out = [line(grid[0]), widths.map((w) => "-".repeat(w)).join("  "), ...grid.slice(1).map(line)];
  if (title) out.unshift(title);
  if (footer) out.push(`… ${footer}`);
  return out.join("\n");
}
