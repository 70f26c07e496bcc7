// A small JSON-over-HTTPS client for the Kubernetes API, on top of client-node's KubeConfig (which
// supplies TLS material and auth headers, exec plugins included). Every request has a time limit,
// TLS connections are kept alive between requests, and failures become a KubeApiError carrying
// the HTTP status and the API's Status reason/message (or the network error's code).

import http from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  /** defaults to application/json; patches pass their own */
  contentType?: string;
  timeoutMs?: number;
}

/** The API's error body (kind: Status), as far as kinject reads it. */
export interface ApiStatus {
  kind?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: { name?: string; group?: string; kind?: string; causes?: { reason?: string; message?: string; field?: string }[] };
}

export class KubeApiError extends Error {
  /** HTTP status; 0 when the request never got an answer (network error, timeout) */
  readonly status: number;
  /** the Status reason (NotFound, Forbidden, AlreadyExists, ...) or the network error code */
  readonly reason: string;
  readonly details: ApiStatus['details'];
  readonly method: string;
  readonly path: string;
  /** the request went out on a kept-alive connection (set for network errors) */
  reusedSocket = false;
  constructor(method: string, path: string, status: number, reason: string, message: string, details?: ApiStatus['details'], cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'KubeApiError';
    this.method = method;
    this.path = path;
    this.status = status;
    this.reason = reason;
    this.details = details;
  }
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 15_000;

export class KubeClient {
  readonly kc: KubeConfig;
  readonly server: string;
  private agent: http.Agent | undefined;
  private readonly defaultTimeoutMs: number;

  constructor(kc: KubeConfig, options: { timeoutMs?: number } = {}) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('KubeClient: the kubeconfig has no current cluster');
    this.kc = kc;
    this.server = cluster.server.replace(/\/+$/, '');
    this.defaultTimeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  }

  get<T>(path: string, options: RequestOptions = {}): Promise<T> {
    return this.request<T>('GET', path, options);
  }

  post<T>(path: string, body: unknown, options: RequestOptions = {}): Promise<T> {
    return this.request<T>('POST', path, { ...options, body });
  }

  /** JSON patch (RFC 6902) */
  patch<T>(path: string, ops: unknown[], options: RequestOptions = {}): Promise<T> {
    return this.request<T>('PATCH', path, { contentType: 'application/json-patch+json', ...options, body: ops });
  }

  delete<T>(path: string, options: RequestOptions = {}): Promise<T> {
    return this.request<T>('DELETE', path, options);
  }

  /** Releases kept-alive connections so the process can exit. */
  close(): void {
    this.agent?.destroy();
    this.agent = undefined;
  }

  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    try {
      return await this.requestOnce<T>(method, path, options);
    } catch (err) {
      // a kept-alive connection the server had already closed: the request never arrived; once more
      if (err instanceof KubeApiError && err.reusedSocket && (err.reason === 'ECONNRESET' || err.reason === 'EPIPE')) {
        return this.requestOnce<T>(method, path, options);
      }
      throw err;
    }
  }

  private async requestOnce<T>(method: string, path: string, options: RequestOptions): Promise<T> {
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(options.query ?? {})) {
      if (v !== undefined) url.searchParams.set(k, String(v));
    }
    const opts: https.RequestOptions = { headers: {} };
    try {
      await this.kc.applyToHTTPSOptions(opts);
    } catch (err) {
      throw new KubeApiError(method, path, 0, 'AuthError', `cannot get credentials: ${(err as Error).message}`, undefined, err);
    }
    const cluster = this.kc.getCurrentCluster();
    if (!cluster?.proxyUrl) opts.agent = this.keepAliveAgent(opts, url.protocol === 'https:');
    const body = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
    const headers: http.OutgoingHttpHeaders = { ...(opts.headers as http.OutgoingHttpHeaders), accept: 'application/json' };
    if (body) {
      headers['content-type'] = options.contentType ?? 'application/json';
      headers['content-length'] = body.length;
    }
    const timeoutMs = options.timeoutMs ?? this.defaultTimeoutMs;
    const mod = url.protocol === 'https:' ? https : http;
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const fail = (err: KubeApiError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        req.destroy();
        reject(err);
      };
      const req = mod.request(url, { ...opts, method, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => fail(networkError(method, path, err)));
        res.on('end', () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          let parsed: unknown;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            parsed = undefined;
          }
          if (status >= 200 && status < 300) {
            resolve(parsed as T);
            return;
          }
          const st = (parsed && typeof parsed === 'object' ? parsed : {}) as ApiStatus;
          const reason = st.reason || (status === 401 ? 'Unauthorized' : status === 403 ? 'Forbidden' : status === 404 ? 'NotFound' : `HTTP${status}`);
          const message = st.message || text.trim().split('\n')[0] || `HTTP ${status}`;
          reject(new KubeApiError(method, path, status, reason, message, st.details));
        });
      });
      const timer = setTimeout(() => fail(new KubeApiError(method, path, 0, 'Timeout', `no answer within ${timeoutMs} ms`)), timeoutMs);
      timer.unref();
      req.on('error', (err) => {
        const e = networkError(method, path, err);
        e.reusedSocket = req.reusedSocket;
        fail(e);
      });
      req.end(body);
    });
  }

  private keepAliveAgent(opts: https.RequestOptions, tls: boolean): http.Agent {
    if (this.agent) return this.agent;
    if (!tls) {
      this.agent = new http.Agent({ keepAlive: true });
      return this.agent;
    }
    const o = opts as https.RequestOptions & { servername?: string };
    this.agent = new https.Agent({
      keepAlive: true,
      ca: o.ca,
      cert: o.cert,
      key: o.key,
      pfx: o.pfx,
      passphrase: o.passphrase,
      servername: o.servername,
      ...(o.rejectUnauthorized !== undefined ? { rejectUnauthorized: o.rejectUnauthorized } : {}),
    });
    return this.agent;
  }
}

function networkError(method: string, path: string, err: Error & { code?: string }): KubeApiError {
  return new KubeApiError(method, path, 0, err.code || 'NetworkError', err.message, undefined, err);
}

/** Paths: `/api/v1/namespaces/NS/pods`, `/apis/batch/v1/namespaces/NS/jobs/NAME`, ... */
export function apiPath(group: '' | 'batch' | 'apps' | 'networking.k8s.io', resource: string, namespace?: string, name?: string): string {
  const base = group === '' ? '/api/v1' : `/apis/${group}/v1`;
  const ns = namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  const n = name ? `/${encodeURIComponent(name)}` : '';
  return `${base}${ns}/${resource}${n}`;
}
