import { startMockProvider } from "/work/wt/lead/packages/testing/dist/index.js";
import { request } from "undici";
const mock = await startMockProvider();
mock.scenario("s", { disconnectAfterChunks: 3 });
for (const delay of [0, 5, 50]) {
  const response = await request(mock.scenarioUrl("s") + "/v1/chat/completions", { method: "POST", headers: { "content-type": "application/json", authorization: "Bearer x" }, body: JSON.stringify({ model: "m", stream: true, messages: [{ role: "user", content: "hi" }] }) });
  await new Promise((r) => setTimeout(r, delay));
  let bytes = 0, err;
  await new Promise((resolve) => { response.body.on("data", (b) => (bytes += b.length)); response.body.on("end", resolve); response.body.on("error", (e) => { err = e; resolve(); }); });
  console.log({ delay, status: response.statusCode, bytes, err: err?.code });
}
await mock.close();
