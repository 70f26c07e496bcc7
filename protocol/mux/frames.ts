// The mux frame codec (docs/design.md "The mux"): many logical streams ("channels") over one
// byte stream (one port-forward websocket to the proxy pod). A frame is a 9-byte header —
// type (1 byte), channel id (4 bytes, big-endian), payload length (4 bytes, big-endian) — and
// the payload. Shared by the runner and the pod server.

export const FRAME = {
  /** opens channel `id` (ids are odd from the client, even from the server); no payload */
  OPEN: 1,
  /** bytes of channel `id`; at most the receiver's window */
  DATA: 2,
  /** payload: 4 bytes, more bytes the sender of this frame is ready to receive on `id` */
  WINDOW: 3,
  /** the sender will send no more DATA on `id` (a TCP half-close) */
  END: 4,
  /** channel `id` is aborted both ways */
  RESET: 5,
  /** channel 0; payload echoed in a PONG */
  PING: 6,
  PONG: 7,
  /** channel 0: the client is done with the server; the server answers with one and exits */
  SHUTDOWN: 8,
} as const;

export const HEADER_BYTES = 9;
/** the largest DATA payload a sender writes in one frame */
export const MAX_DATA_PAYLOAD = 64 * 1024;
/** a frame larger than this is a protocol error (the stream is not a mux, or is corrupt) */
export const MAX_FRAME_PAYLOAD = 1024 * 1024;

export interface Frame {
  type: number;
  channel: number;
  payload: Buffer;
}

/** A whole frame in one buffer (control frames; DATA goes out as header + payload: encodeHeader). */
export function encodeFrame(type: number, channel: number, payload?: Buffer): Buffer {
  const length = payload?.length ?? 0;
  const frame = writeHeader(Buffer.allocUnsafe(HEADER_BYTES + length), type, channel, length);
  if (payload) payload.copy(frame, HEADER_BYTES);
  return frame;
}

export function encodeWindow(channel: number, bytes: number): Buffer {
  const payload = Buffer.allocUnsafe(4);
  payload.writeUInt32BE(bytes >>> 0, 0);
  return encodeFrame(FRAME.WINDOW, channel, payload);
}

export class MuxProtocolError extends Error {
  readonly code = 'EMUXPROTO';
  constructor(message: string) {
    super(message);
    this.name = 'MuxProtocolError';
  }
}

/** The 9-byte header of a frame whose payload is written separately (no copy of the payload). */
export function encodeHeader(type: number, channel: number, length: number): Buffer {
  return writeHeader(Buffer.allocUnsafe(HEADER_BYTES), type, channel, length);
}

function writeHeader(buf: Buffer, type: number, channel: number, length: number): Buffer {
  buf[0] = type;
  buf.writeUInt32BE(channel >>> 0, 1);
  buf.writeUInt32BE(length, 5);
  return buf;
}

/**
 * Cuts a byte stream into frames; chunks may split frames anywhere. DATA is passed on as it
 * arrives: a DATA frame split across chunks reaches onFrame in pieces (each a view of its chunk,
 * never copied; its channel only counts bytes). Other frames (small: control) are joined whole.
 */
export class FrameDecoder {
  /** a header split across chunks, collected here */
  private readonly header = Buffer.allocUnsafe(HEADER_BYTES);
  private headerHave = 0;
  private type = 0;
  private channel = 0;
  /** payload bytes of the current frame still to come; -1 while its header is being read */
  private left = -1;
  /** pieces of a split non-DATA payload */
  private parts: Buffer[] = [];

  /** Calls onFrame for every frame (every DATA piece); throws MuxProtocolError on an oversized frame. */
  push(chunk: Buffer, onFrame: (frame: Frame) => void): void {
    let off = 0;
    for (;;) {
      if (this.left < 0) {
        const avail = chunk.length - off;
        if (this.headerHave === 0 && avail >= HEADER_BYTES) {
          this.begin(chunk, off);
          off += HEADER_BYTES;
        } else {
          if (avail === 0) return;
          const n = Math.min(HEADER_BYTES - this.headerHave, avail);
          chunk.copy(this.header, this.headerHave, off, off + n);
          this.headerHave += n;
          off += n;
          if (this.headerHave < HEADER_BYTES) return;
          this.headerHave = 0;
          this.begin(this.header, 0);
        }
      }
      const n = Math.min(this.left, chunk.length - off);
      const piece = chunk.subarray(off, off + n);
      off += n;
      this.left -= n;
      if (this.type === FRAME.DATA) {
        if (n > 0) onFrame({ type: this.type, channel: this.channel, payload: piece });
      } else if (this.left === 0 && this.parts.length === 0) {
        onFrame({ type: this.type, channel: this.channel, payload: piece });
      } else {
        this.parts.push(piece);
        if (this.left === 0) {
          const payload = Buffer.concat(this.parts);
          this.parts = [];
          onFrame({ type: this.type, channel: this.channel, payload });
        }
      }
      if (this.left > 0) return; // the chunk ended inside the payload
      this.left = -1;
    }
  }

  private begin(buf: Buffer, off: number): void {
    this.left = frameLength(buf, off);
    this.type = buf[off]!;
    this.channel = buf.readUInt32BE(off + 1);
  }
}

function frameLength(buf: Buffer, off: number): number {
  const length = buf.readUInt32BE(off + 5);
  if (length > MAX_FRAME_PAYLOAD) throw new MuxProtocolError(`mux frame of ${length} bytes (most ${MAX_FRAME_PAYLOAD}): not a kinject mux stream`);
  return length;
}
