// Exploring learned representations (notebook 08): one import for the whole toolbox.
//
//   extract.ts      hidden states [batch, time, width] per layer and attention maps [batch, heads, time, time]
//                   from every model of the course, through one adapter interface; padding cut away
//   features.ts     the plain matrices every analysis takes (one row per real token or sentence)
//   pooling.ts      sentence vectors and token selections from the extracted states
//   probe.ts        linear/MLP probes trained by the one Trainer; control tasks and selectivity
//   probe_tasks.ts  layer-wise probing; token properties (position, previous word, negation scope, given labels)
//   projection.ts   PCA (ml-pca) and UMAP (umap-js) to 2-D
//   similarity.ts   linear CKA; self-similarity across contexts with the anisotropy baseline
//   heads.ts        per-head statistics of Clark et al. (2019)
export * from "./features";
export * from "./extract";
export * from "./pooling";
export * from "./probe";
export * from "./probe_tasks";
export * from "./projection";
export * from "./similarity";
export * from "./heads";
