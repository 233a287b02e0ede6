/**
 * A transient `  text…` line for something that can take a while (a gateway call), the way `doctor` shows its
 * steps: written only when the stream is a terminal, ended with `\r` so the next output overwrites it, and erased
 * by the returned function. Pipes, files and CI logs never see it.
 */
export function showProgress(text: string, stream: NodeJS.WriteStream = process.stderr): () => void {
  if (!stream.isTTY) return () => {};
  // One terminal line at most: a wrapped line would leave its first part behind when erased.
  const line = `  ${text}…`;
  const width = stream.columns;
  stream.write(`${width && line.length >= width ? `${line.slice(0, width - 2)}…` : line}\r`);
  let cleared = false;
  return () => {
    if (cleared) return;
    cleared = true;
    stream.write("\x1b[2K");
  };
}

/** Runs `work` with a progress line on a terminal's stderr, erased when it settles (either way). */
export async function withProgress<T>(text: string, work: () => Promise<T>): Promise<T> {
  const clear = showProgress(text);
  try {
    return await work();
  } finally {
    clear();
  }
}
