import { LlmuxError } from "../errors/llmux-error";
import type { CallRun } from "./call-run";

/**
 * A cached stream replayed item by item (chat chunks or Messages events, already shaped for the
 * client). The hit is settled at the end of the replay, so that its event's timing covers it; a client
 * that leaves first gets the call recorded as aborted, once.
 */
export function replayCached<T>(options: {
  run: CallRun;
  items: Iterable<T>;
  settle: () => void;
  failure: (run: CallRun, error: LlmuxError) => void;
}): { items: AsyncGenerator<T>; cancel(): Promise<void> } {
  let finished = false;
  const aborted = () => {
    if (!finished)
      options.failure(
        options.run,
        new LlmuxError({ kind: "aborted", message: "The client closed the connection" }),
      );
    finished = true;
  };
  async function* items(): AsyncGenerator<T> {
    try {
      yield* options.items;
      finished = true;
      options.settle();
    } finally {
      aborted();
    }
  }
  const generator = items();
  return {
    items: generator,
    cancel: async () => {
      await generator.return(undefined);
      aborted();
    },
  };
}
