#!/usr/bin/env node
// A minimal MCP server over stdio (newline-delimited JSON-RPC), standing in for a developer's own MCP server in the
// launch tests: its one tool, `lookup_note`, showing up in an agent's model request proves the agent still loaded the
// developer's MCP configuration when started through `tollgate launch`.
import { createInterface } from "node:readline";

const TOOL = {
  name: "lookup_note",
  description: "Look up one of the developer's notes by its title.",
  inputSchema: { type: "object", properties: { title: { type: "string" } }, required: ["title"] },
};

const results = {
  initialize: (params) => ({
    protocolVersion: params?.protocolVersion ?? "2025-06-18",
    capabilities: { tools: { listChanged: false } },
    serverInfo: { name: "notes", version: "1.0.0" },
  }),
  ping: () => ({}),
  "tools/list": () => ({ tools: [TOOL] }),
  "tools/call": () => ({ content: [{ type: "text", text: "no such note" }] }),
  "resources/list": () => ({ resources: [] }),
  "resources/templates/list": () => ({ resourceTemplates: [] }),
  "prompts/list": () => ({ prompts: [] }),
};

const send = (message) => process.stdout.write(`${JSON.stringify({ jsonrpc: "2.0", ...message })}\n`);

createInterface({ input: process.stdin }).on("line", (line) => {
  let message;
  try {
    message = JSON.parse(line);
  } catch {
    return;
  }
  if (message.id === undefined || message.id === null) return; // a notification
  const result = results[message.method];
  if (result) send({ id: message.id, result: result(message.params) });
  else send({ id: message.id, error: { code: -32601, message: `Method not found: ${message.method}` } });
});
