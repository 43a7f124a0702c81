/**
 * Splits a byte stream into newline-delimited JSON texts, one batch per chunk received, so a fast
 * log costs one write per chunk rather than per line. A trailing partial line (the connection
 * dropped mid-line) is never yielded: the follower resumes from the last complete line instead.
 */
export async function* ndjsonBatches(body: AsyncIterable<Uint8Array>): AsyncGenerator<string[]> {
  const decoder = new TextDecoder();
  let pending = '';
  for await (const chunk of body) {
    pending += decoder.decode(chunk, { stream: true });
    const end = pending.lastIndexOf('\n');
    if (end === -1) continue;
    const complete = pending.slice(0, end);
    pending = pending.slice(end + 1);
    const texts = complete.split('\n').filter((text) => text.trim() !== '');
    if (texts.length > 0) yield texts;
  }
}
