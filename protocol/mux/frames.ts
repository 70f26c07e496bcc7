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
 * Cuts a byte stream into frames; chunks may split frames anywhere. The pieces of a split frame
 * are kept as they came and joined once, when the frame is complete.
 */
export class FrameDecoder {
  private parts: Buffer[] = [];
  private partsLength = 0;
  /** header + payload bytes of the frame being collected; 0 while its header is incomplete */
  private need = 0;

  /** Calls onFrame for every complete frame; throws MuxProtocolError on an oversized frame. */
  push(chunk: Buffer, onFrame: (frame: Frame) => void): void {
    let buf = chunk;
    if (this.partsLength) {
      this.parts.push(chunk);
      this.partsLength += chunk.length;
      if (this.need === 0 && this.partsLength >= HEADER_BYTES) {
        this.need = HEADER_BYTES + frameLength(Buffer.concat(this.parts, HEADER_BYTES), 0);
      }
      if (this.need === 0 || this.partsLength < this.need) return;
      buf = Buffer.concat(this.parts, this.partsLength);
      this.parts = [];
      this.partsLength = 0;
      this.need = 0;
    }
    let off = 0;
    while (buf.length - off >= HEADER_BYTES) {
      const length = frameLength(buf, off);
      if (buf.length - off < HEADER_BYTES + length) {
        this.need = HEADER_BYTES + length;
        break;
      }
      const type = buf[off]!;
      const channel = buf.readUInt32BE(off + 1);
      const payload = buf.subarray(off + HEADER_BYTES, off + HEADER_BYTES + length);
      off += HEADER_BYTES + length;
      onFrame({ type, channel, payload });
    }
    if (off < buf.length) {
      this.parts = [buf.subarray(off)];
      this.partsLength = buf.length - off;
    }
  }
}

function frameLength(buf: Buffer, off: number): number {
  const length = buf.readUInt32BE(off + 5);
  if (length > MAX_FRAME_PAYLOAD) throw new MuxProtocolError(`mux frame of ${length} bytes (most ${MAX_FRAME_PAYLOAD}): not a kinject mux stream`);
  return length;
}
