/**
 * Soak: a long closed-loop run (200k calls by default, one in four streamed) against one server,
 * sampling its RSS from /proc as it goes. The baseline is taken after a warm-up (JIT, pools and
 * telemetry buffers at their working size) and a telemetry flush; the end after a flush too. RSS
 * after a forced full GC (the children run with --expose-gc) is reported beside it, to tell a
 * leak (retained heap grows) from a heap V8 merely chose to keep.
 */
import type { ChildServerHandle } from "./child-server";
import { closedLoop } from "./load/closed-loop";
import type { SoakPlan } from "./plan";
import { cpuMs, rssMb } from "./process-stats";
import { requestHeadersOf } from "./start-servers";
import type { SoakResult, TargetName } from "./types";

interface GcReply {
  collected: boolean;
  memory: NodeJS.MemoryUsage;
}

const MB = 1024 * 1024;

export async function runSoak(
  server: ChildServerHandle,
  plan: SoakPlan,
  log: (line: string) => void,
): Promise<SoakResult> {
  const kind = (index: number) => (index % plan.streamEvery === plan.streamEvery - 1 ? "stream" : "plain");
  log(`soak ${server.name}: warm-up ${plan.warmupCalls} calls`);
  await closedLoop({
    url: server.url,
    headers: requestHeadersOf(server),
    kind,
    concurrency: plan.concurrency,
    maxCalls: plan.warmupCalls,
    maxSeconds: 60,
  });
  await server.request("flush");
  const rssBaselineMb = rssMb(server.pid);
  const gcBaseline = await server.request<GcReply>("gc");
  const cpuBefore = cpuMs(server.pid);
  const samples: Array<{ calls: number; rssMb: number }> = [{ calls: 0, rssMb: rssBaselineMb }];
  log(
    `soak ${server.name}: ${plan.calls} calls at concurrency ${plan.concurrency}, RSS baseline ${rssBaselineMb.toFixed(1)} MB`,
  );
  const { recorder, elapsedSeconds } = await closedLoop({
    url: server.url,
    headers: requestHeadersOf(server),
    kind,
    concurrency: plan.concurrency,
    maxCalls: plan.calls,
    maxSeconds: plan.maxSeconds,
    progressEvery: plan.sampleEvery,
    onProgress: (calls) => {
      const rss = rssMb(server.pid);
      samples.push({ calls, rssMb: rss });
      if (calls % (plan.sampleEvery * 5) === 0)
        log(`soak ${server.name}: ${calls} calls, RSS ${rss.toFixed(1)} MB`);
    },
  });
  await server.request("flush", 60_000);
  const cpu = cpuMs(server.pid) - cpuBefore;
  const rssEndMb = rssMb(server.pid);
  samples.push({ calls: recorder.calls, rssMb: rssEndMb });
  const gcEnd = await server.request<GcReply>("gc");
  const summary = recorder.summary();
  const result: SoakResult = {
    target: server.name as TargetName,
    calls: summary.calls,
    errors: summary.errors,
    seconds: elapsedSeconds,
    callsPerSecond: (summary.calls - summary.errors) / elapsedSeconds,
    concurrency: plan.concurrency,
    streamShare: 1 / plan.streamEvery,
    rssBaselineMb,
    rssEndMb,
    rssGrowthMb: rssEndMb - rssBaselineMb,
    rssMaxMb: Math.max(...samples.map((sample) => sample.rssMb)),
    afterGc:
      gcBaseline.collected && gcEnd.collected
        ? {
            rssBaselineMb: gcBaseline.memory.rss / MB,
            rssEndMb: gcEnd.memory.rss / MB,
            heapBaselineMb: gcBaseline.memory.heapUsed / MB,
            heapEndMb: gcEnd.memory.heapUsed / MB,
            end: {
              heapTotalMb: gcEnd.memory.heapTotal / MB,
              externalMb: gcEnd.memory.external / MB,
              arrayBuffersMb: gcEnd.memory.arrayBuffers / MB,
            },
          }
        : null,
    samples,
    serverCpuMsPerCall: summary.calls > 0 ? cpu / summary.calls : Number.NaN,
  };
  if (summary.firstError) result.firstError = summary.firstError;
  return result;
}
