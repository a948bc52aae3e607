// The examples, bundled at build time from the repository's own files (esbuild's text loader):
// the page shows exactly what the CLI reads.
import platform from "../../examples/webshop/00-platform.yaml";
import frontend from "../../examples/webshop/10-frontend.yaml";
import backend from "../../examples/webshop/20-backend.yaml";
import data from "../../examples/webshop/30-data.yaml";
import ml from "../../examples/webshop/40-ml.yaml";
import batch from "../../examples/webshop/50-batch.yaml";
import nodepools from "../../examples/nodepools.yaml";
import snapshot from "../../examples/cluster/snapshot.json";
import pendingPods from "../../examples/cluster/pending-pods.json";
import inflate from "./examples/inflate.yaml";

/** Several files as one editor text: YAML documents separated by `---`. */
const join = (...texts) => texts.map((t) => t.trimEnd() + "\n").join("---\n");

/**
 * Each example: its workloads and NodePools texts (null: the default NodePool), and for a
 * cluster snapshot the time it is dated at.
 */
export const EXAMPLES = {
  webshop: {
    title: "Web shop (examples/webshop)",
    workloads: join(platform, frontend, backend, data, ml, batch),
    nodepools,
  },
  guide: {
    title: "10 pods × 0.5 CPU / 1 GiB, default NodePool",
    workloads: inflate,
    nodepools: null,
  },
  gpu: {
    title: "GPU inference service",
    workloads: ml,
    nodepools,
  },
  batch: {
    title: "Spot batch jobs",
    workloads: batch,
    nodepools,
  },
  snapshot: {
    title: "Over-provisioned cluster snapshot (consolidation)",
    workloads: join(snapshot, pendingPods),
    nodepools,
    now: "2026-12-05T20:00:00Z",
  },
};
