import { createServer } from "node:http";

// The floor of a cache hit: a bare node:http server that reads the whole request body and writes a canned ~1 kB
// answer — no routing, no lookup, no log row. No Node.js gateway can answer a request for less CPU than this, so
// `passthrough ÷ floor` is the best ratio a hit could ever reach on a given request (bench/README.md, cache).

const answer = [
  'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_floor","type":"message","role":"assistant","content":[],"model":"floor","stop_reason":null,"usage":{"input_tokens":0,"output_tokens":0}}}\n\n',
  'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n',
  `event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"${"floor ".repeat(80)}"}}\n\n`,
  'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n',
  'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":80}}\n\n',
  'event: message_stop\ndata: {"type":"message_stop"}\n\n',
].join("");

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => chunks.push(chunk));
  req.on("end", () => {
    // Held as one buffer, as a server that looks at the body must.
    const body = Buffer.concat(chunks);
    res.writeHead(200, { "content-type": "text/event-stream", "x-body-bytes": String(body.length) });
    res.end(answer);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  if (address && typeof address === "object") console.log(`floor listening on http://127.0.0.1:${address.port}`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
