/**
 * Resolves true when `work` settles before `deadline` (epoch ms), false when the deadline comes first
 * (`work` keeps running; nobody waits for it). No deadline: waits for `work`.
 */
export function untilDeadline(work: Promise<unknown>, deadline: number | undefined): Promise<boolean> {
  const settled = work.then(
    () => true,
    () => true,
  );
  if (deadline === undefined) return settled;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()));
    timer.unref();
  });
  return Promise.race([settled, expired]).finally(() => clearTimeout(timer));
}
