// Where the runner puts what its intercepts report (docs/design.md "Intercept records"): every
// request the pod sent to the local process as an InboundRecord (proxy-pod/inbound/record.ts),
// emitted as 'record' on interceptEvents together with the session id; the inspection UI listens
// here. Warnings and Service changes are printed by the intercept session itself.

import { EventEmitter } from 'node:events';
import type { InboundRecord } from '../../protocol/intercept/record.js';

export interface InterceptRecordEvent {
  session: string;
  service: string;
  record: InboundRecord;
  /** the local port the request went to (set when the session intercepts one port: Replay sends it there again) */
  localPort?: number;
}

/** 'record' (InterceptRecordEvent) */
export const interceptEvents = new EventEmitter();
interceptEvents.setMaxListeners(0);
