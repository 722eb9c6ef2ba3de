// EfficientNet-B0 inference in ONNX Runtime's CPU provider (onnxruntime-node), as a user who
// deploys on a CPU would run it: all graph optimisations, `threads` intra-op threads.
// Checks the runtime's logits against torchvision's on the reference input, then prints
// images/s for a batch as JSON.
//   node ort_bench.js MODEL.onnx REFERENCE.json BATCH THREADS ITERATIONS [PROFILE_PREFIX]
const ort = require("onnxruntime-node");
const fs = require("fs");

async function main() {
  const [model, referencePath, batchText, threadsText, iterationsText, profilePrefix] = process.argv.slice(2);
  const batch = Number(batchText), threads = Number(threadsText), iterations = Number(iterationsText);
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ["cpu"],
    graphOptimizationLevel: "all",
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    enableProfiling: Boolean(profilePrefix),
    profileFilePrefix: profilePrefix || "onnxruntime_profile",
  });
  const reference = JSON.parse(fs.readFileSync(referencePath, "utf8"));
  const one = new ort.Tensor("float32", Float32Array.from(reference.input), [1, 3, 224, 224]);
  const logits = (await session.run({ input: one })).logits.data;
  let worst = 0, largest = 0;
  for (let i = 0; i < logits.length; ++i) {
    worst = Math.max(worst, Math.abs(logits[i] - reference.logits[i]));
    largest = Math.max(largest, Math.abs(reference.logits[i]));
  }
  // float32 through some 80 layers: far below 1e-3 of the logits' size, unless the export or
  // the runtime computes another network.
  if (!(worst <= 1e-3 * largest)) throw new Error(`ONNX Runtime's logits differ from torchvision's by ${worst}`);
  const data = new Float32Array(batch * 3 * 224 * 224);
  for (let i = 0; i < data.length; ++i) data[i] = Math.sin(i);  // any input: the timing does not depend on it
  const input = new ort.Tensor("float32", data, [batch, 3, 224, 224]);
  await session.run({ input });  // warm-up
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; ++i) await session.run({ input });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const profile = profilePrefix ? session.endProfiling() : undefined;
  console.log(JSON.stringify({
    workload: "b0_infer", impl: "onnxruntime " + require("onnxruntime-node/package.json").version, threads, batch,
    images_per_second: (iterations * batch) / seconds, max_logit_difference: worst, largest_logit: largest,
    peak_rss_mb: process.resourceUsage().maxRSS / 1024, profile,
  }));
}

main().catch((error) => {
  console.error("error: " + error.message);
  process.exit(1);
});
