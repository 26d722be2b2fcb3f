/** The page header: topology name, process identity, and the live connection's state. */
import { byId, setText } from './dom.js';
import type { StatusSnapshot } from './lib/api-types.js';
import type { ConnectionState } from './live-connection.js';

export class HeaderView {
  private readonly topology = byId('topology-name');
  private readonly instance = byId('instance');
  private readonly connection = byId('connection');
  private readonly banner = byId('banner');

  /** Shows the topology's name and the process serving it. */
  updateStatus(status: StatusSnapshot): void {
    setText(this.topology, status.topology);
    document.title = `${status.topology} · Centaur`;
    const { hostname, pid, version } = status.instance;
    setText(this.instance, `${hostname} · pid ${pid} · Centaur ${version} · ${status.state}`);
  }

  /** Shows whether the event stream is live; while disconnected a banner says so and the page is dimmed. */
  updateConnection(state: ConnectionState, retryInMs?: number): void {
    const retry = retryInMs === undefined ? ' · reconnecting…' : ` · retrying in ${Math.ceil(retryInMs / 1000)} s`;
    setText(this.connection, state === 'connected' ? 'live' : state === 'connecting' ? 'connecting…' : `disconnected${retry}`);
    this.connection.dataset.state = state;
    this.banner.hidden = state !== 'disconnected';
    document.body.classList.toggle('disconnected', state === 'disconnected');
  }
}
