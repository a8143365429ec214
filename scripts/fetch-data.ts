// Fetch and verify corpora into datasets/cache/ (see lib/data/registry.ts).
//
//   npm run fetch-data                         # every dataset in datasets/registry.json
//   npm run fetch-data -- sst2 cogs            # some of them
//   npm run fetch-data -- --list               # names, sizes, licences
//   NLU_DATA_MIRROR=../shared/datasets npm run fetch-data     # copy from a local mirror instead of the internet
//
// Options: --mirror DIR (overrides NLU_DATA_MIRROR), --cache DIR, --offline (cache and mirror only).

import { DatasetReport, EnsureOptions, datasetNames, defaultCacheDir, ensureDataset, getDataset, resolveMirror } from "../lib/data/registry";

const USAGE = "usage: npm run fetch-data -- [names...] [--mirror DIR] [--cache DIR] [--offline] [--list]";

function parseArgs(argv: string[]): { names: string[]; list: boolean; options: EnsureOptions } {
  const names: string[] = [];
  const options: EnsureOptions = {};
  let list = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (!v || v.startsWith("--")) throw new Error(`${a} needs a folder. ${USAGE}`);
      return v;
    };
    if (a === "--mirror") options.mirror = value();
    else if (a === "--cache") options.cacheDir = value();
    else if (a === "--offline") options.download = false;
    else if (a === "--list") list = true;
    else if (a === "--help" || a === "-h") {
      console.log(USAGE);
      process.exit(0);
    } else if (a.startsWith("-")) throw new Error(`unknown option "${a}". ${USAGE}`);
    else names.push(a);
  }
  for (const n of names) getDataset(n); // unknown names fail before anything is fetched
  return { names: names.length ? names : datasetNames(), list, options };
}

function printList(names: string[]): void {
  for (const name of names) {
    const d = getDataset(name);
    const bytes = d.files.reduce((s, f) => s + f.bytes, 0);
    console.log(`${name.padEnd(18)} ${(bytes / 1e6).toFixed(1).padStart(5)} MB  ${d.title}`);
    console.log(`${"".padEnd(18)} licence: ${d.licence}`);
    console.log(`${"".padEnd(18)} cite: ${d.citation}`);
  }
}

async function main(): Promise<void> {
  const { names, list, options } = parseArgs(process.argv.slice(2));
  if (list) return printList(names);
  const mirror = resolveMirror(options.mirror);
  const cache = options.cacheDir ?? defaultCacheDir();
  console.log(`fetch-data: ${names.join(", ")} -> ${cache}${mirror ? ` (mirror ${mirror})` : ""}`);
  const reports: DatasetReport[] = [];
  for (const name of names) reports.push(await ensureDataset(name, { ...options, log: (l) => console.log(`  ${l}`) }));
  for (const r of reports) {
    const count = (o: string): number => r.files.filter((f) => f.origin === o).length;
    console.log(`ok ${r.name}: ${r.files.length} files verified (${count("cache")} cached, ${count("mirror")} from mirror, ${count("download")} downloaded) in ${r.dir}`);
  }
  console.log("Licences and citations: npm run fetch-data -- --list (or datasets/README.md).");
}

main().catch((e: Error) => {
  console.error(`fetch-data: ${e.message}`);
  process.exit(1);
});
