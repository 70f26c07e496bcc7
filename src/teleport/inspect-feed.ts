// A teleport session's part of the inspection page: starts its feed (inspect/feed.ts) and publishes
// the session's table (each address and port, its names, where it goes in the cluster, its
// connections open now and in all) whenever the table or a count changes, at most every
// PUBLISH_MS, and the target's env once. Best effort, like every feed: undefined without a page.
import type { CleanupStack } from '../child/cleanup-stack.js';
import { publishInspect, type TeleportEvent } from '../inspect/events.js';
import type { Logger } from '../log.js';
import type { Relays } from './relay.js';
import type { TableRow } from './session.js';

const PUBLISH_MS = 250;

export interface TeleportPage {
  url: string;
  /** the relays and the table to publish from */
  watch(relays: Relays, table: () => TableRow[]): void;
  /** a count or the table may have changed: publish soon if it did */
  changed(): void;
  /** the target workload's env, for the page (never written anywhere) */
  env(vars: Record<string, string>, target: string): void;
}

export async function feedInspection(id: string, log: Logger, cleanup: CleanupStack): Promise<TeleportPage | undefined> {
  const { startInspectFeed } = await import('../inspect/feed.js');
  const feed = await startInspectFeed(id, log);
  if (!feed) return undefined;
  let source: { relays: Relays; table: () => TableRow[] } | undefined;
  let timer: NodeJS.Timeout | undefined;
  let last = '';
  const publish = () => {
    timer = undefined;
    if (!source) return;
    const names = new Map(source.table().map((r) => [r.address, r.names]));
    const table: TeleportEvent['table'] = source.relays
      .counts()
      .map(({ route, open, total }) => ({
        address: route.address,
        port: route.port,
        names: names.get(route.address) ?? [],
        to: `${route.host}:${route.targetPort}`,
        open,
        total,
      }))
      .sort((a, b) => a.names.join().localeCompare(b.names.join()) || a.port - b.port);
    const text = JSON.stringify(table);
    if (text === last) return;
    last = text;
    publishInspect({ type: 'teleport', time: new Date().toISOString(), table });
  };
  cleanup.add('inspection feed', async () => {
    if (timer) clearTimeout(timer);
    await feed.close();
  });
  return {
    url: feed.url,
    watch(relays, table) {
      source = { relays, table };
    },
    changed() {
      timer ??= setTimeout(publish, PUBLISH_MS);
    },
    env(vars, target) {
      publishInspect({ type: 'env', time: new Date().toISOString(), source: `${target} (the workload's env)`, vars });
    },
  };
}
