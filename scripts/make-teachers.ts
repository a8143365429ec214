// Train and cache notebook 07's distillation teachers (lib/tasks/teachers.ts) outside Jupyter.
//
//   npm run teachers                     # quick-mode teachers (seconds)
//   npm run teachers -- --full           # full-mode teachers: notebooks 01-03's settings on all of SST-2
//   npm run teachers -- --full bilstm    # some of them; --force retrains even when a fitting cache exists
//   npm run teachers -- --full imdb      # only section 5's IMDB teacher (one teacher per task)
//
// Each teacher lands in checkpoints/teacher-<name>-<mode> (the IMDB one in teacher-imdb-cnn-<mode>); the notebook
// then loads it instead of training.
import { useBestBackend } from "../lib/engine";
import { Mode } from "../lib/mode";
import { prepareSst2 } from "../lib/tasks/sst2";
import { TEACHER_NAMES, TeacherName, sst2Teachers, teacherData } from "../lib/tasks/teachers";
import { distillSettings } from "../lib/tasks/distillation";
import { imdbTask, imdbTeacher } from "../lib/tasks/distillation_modes";

const USAGE = `usage: npm run teachers -- [--full] [--force] [${TEACHER_NAMES.join("|")}|imdb ...]`;

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const m: Mode = args.includes("--full") ? "full" : "quick";
  const force = args.includes("--force");
  const asked = args.filter((a) => !a.startsWith("--"));
  const names = asked.filter((a) => a !== "imdb") as TeacherName[];
  const bad = args.filter((a) => a.startsWith("--") && !["--full", "--force"].includes(a)).concat(names.filter((n) => !TEACHER_NAMES.includes(n)));
  if (bad.length) throw new Error(`unknown argument(s) ${bad.join(", ")}. ${USAGE}`);
  await useBestBackend();
  const t0 = Date.now();
  const data = await prepareSst2(teacherData(m));
  const teachers = asked.length > 0 && names.length === 0 ? [] : await sst2Teachers({ data, mode: m, names: names.length ? names : undefined, force });
  for (const t of teachers) {
    console.log(`${t.label.padEnd(14)} dev accuracy ${t.devAccuracy.toFixed(3)}  ${t.model.paramCount().toLocaleString()} parameters  ${t.loaded ? "(cached)" : `trained in ${t.trainSeconds.toFixed(0)} s`}  ${t.dir}`);
  }
  if (asked.length === 0 || asked.includes("imdb")) {
    const imdb = await imdbTeacher({ task: await imdbTask({ vocab: data.vocab, ...distillSettings(m).imdb }), vocab: data.vocab, mode: m, force });
    console.log(`${"IMDB CNN".padEnd(14)} IMDB dev accuracy ${imdb.devAccuracy.toFixed(3)}  ${imdb.loaded ? "(cached)" : `trained in ${imdb.trainSeconds.toFixed(0)} s`}`);
  }
  console.log(`${m}-mode teachers ready in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

main().catch((e) => {
  console.error((e as Error).message);
  process.exit(1);
});
