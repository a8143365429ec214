// The benches' command-line options: `--name value` and `--flag` words, read one by one.
//
//   forEachOption(argv, "--out FILE, --steps N", (option, value) => {
//     if (option === "--out") args.out = value();    // value() takes the next word (an error if there is none)
//     else return false;                              // unknown: an error that lists the usage
//     return true;
//   });

/** Call `take` for each option; it returns false for an option it does not know, which throws with `usage`. */
export function forEachOption(argv: string[], usage: string, take: (option: string, value: () => string) => boolean): void {
  for (let i = 0; i < argv.length; i++) {
    const option = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${option} needs a value`);
      return v;
    };
    if (!take(option, value)) throw new Error(`unknown option ${option}: use ${usage}`);
  }
}
