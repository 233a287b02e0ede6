import { createServer, type Socket } from "node:net";

export interface TrapProxy {
  /** `http://127.0.0.1:<port>`, for HTTP(S)_PROXY. */
  url: string;
  /** Request lines of every attempt, e.g. `CONNECT api.anthropic.com:443 HTTP/1.1`. */
  attempts: string[];
  close(): Promise<void>;
}

/**
 * An HTTP proxy that forwards nothing: it records what a CLI tried to reach outside localhost and refuses at
 * once, so stray traffic fails fast instead of hanging on a firewall, and the test can report it.
 */
export async function startTrapProxy(): Promise<TrapProxy> {
  const attempts: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    let head = "";
    socket.on("data", (chunk: Buffer) => {
      if (head.includes("\n")) return;
      head += chunk.toString("latin1");
      if (!head.includes("\n") && head.length < 8192) return;
      attempts.push(head.split(/\r?\n/)[0] ?? "");
      socket.end("HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("trap proxy has no TCP address");
  return {
    url: `http://127.0.0.1:${address.port}`,
    attempts,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
