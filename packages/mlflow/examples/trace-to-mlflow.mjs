// Sends one LLM span to an MLflow tracking server with @llmux/mlflow, outside the gateway.
// Run: MLFLOW_TRACKING_URI=http://localhost:5000 node examples/trace-to-mlflow.mjs
// (a local server: `pip install 'mlflow>=3.6' && mlflow server --port 5000`)
import { mlflowExporter, resolveExperiment } from "@llmux/mlflow";
import { BasicTracerProvider, BatchSpanProcessor } from "@opentelemetry/sdk-trace-base";

const experimentName = process.env.MLFLOW_EXPERIMENT_NAME ?? "llmux-example";

// Looked up by name, created when missing (GET experiments/get-by-name, POST experiments/create).
const experimentId = await resolveExperiment({ experimentName });
console.log(`experiment "${experimentName}" has id ${experimentId}`);

// OTLP/HTTP protobuf to $MLFLOW_TRACKING_URI/v1/traces (MLflow >= 3.6), REST trace API for 3.0-3.5.
const exporter = mlflowExporter({ experimentName });
const provider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter)] });
const tracer = provider.getTracer("llmux-example");

const span = tracer.startSpan("chat gpt-4o", {
  attributes: {
    "llmux.call_id": "example-call-1",
    "gen_ai.operation.name": "chat",
    "gen_ai.request.model": "gpt-4o",
    "mlflow.spanType": "CHAT_MODEL",
    "mlflow.spanInputs": JSON.stringify({ messages: [{ role: "user", content: "Say hello" }] }),
    "mlflow.spanOutputs": JSON.stringify({
      choices: [{ message: { role: "assistant", content: "Hello!" } }],
    }),
    "mlflow.chat.tokenUsage": JSON.stringify({ input_tokens: 9, output_tokens: 3, total_tokens: 12 }),
    "mlflow.llm.cost": JSON.stringify({ input_cost: 0.0000225, output_cost: 0.00003, total_cost: 0.0000525 }),
  },
});
span.end();

await provider.shutdown(); // flushes the span processor, then the exporter's own buffer
console.log(exporter.stats());
