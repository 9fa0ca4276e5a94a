import type { Server } from "node:http";

/** Waits until a server listens on 127.0.0.1 and returns its base URL and a close that drops open sockets. */
export async function listening(server: Server): Promise<{ url: string; close: () => Promise<void> }> {
  if (!server.listening) await new Promise((resolve) => server.once("listening", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  const close = async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  };
  return { url: `http://127.0.0.1:${port}`, close };
}
