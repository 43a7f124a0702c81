/**
 * Splits a byte stream into newline-delimited JSON texts, one batch per chunk received, so a fast
 * log costs one write per chunk rather than per line. A trailing partial line (the connection
 * dropped mid-line) is never yielded: the follower resumes from the last complete line instead.
 * Bytes are searched for line breaks as they come and decoded once per batch: an event of a
 * log chunk is hundreds of kilobytes, arriving in many reads.
 */
export async function* ndjsonBatches(body: AsyncIterable<Uint8Array>): AsyncGenerator<string[]> {
  let pending: Buffer[] = [];
  for await (const data of body) {
    const chunk = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const end = chunk.lastIndexOf(0x0a);
    if (end === -1) {
      pending.push(chunk);
      continue;
    }
    pending.push(chunk.subarray(0, end));
    const complete = (pending.length === 1 ? pending[0]! : Buffer.concat(pending)).toString('utf8');
    pending = end + 1 < chunk.length ? [chunk.subarray(end + 1)] : [];
    const texts = complete.split('\n').filter((text) => text.trim() !== '');
    if (texts.length > 0) yield texts;
  }
}
