// The daemon's services besides the channels (HTTP surface, RTSP server, SAP announcer,
// metrics, file watcher) as the daemon starts and stops them, and the shapes they exchange.

/** A started service. stop() ends it cleanly (SIGTERM: RTSP stops accepting, SAP deletes). */
export interface DaemonService {
  readonly name: string;
  stop(): Promise<void>;
  /** Called after each accepted reload (the channel list may have changed). */
  reloaded?(): void;
}

/** What a reload did (SIGHUP, `headend reload`, POST /api/reload, file watch). */
export interface ReloadResult {
  ok: boolean;
  /** file:line:column: message, when the new file is invalid (the old config keeps running). */
  errors: string[];
  /** Channel slugs by what happened to them. */
  added: string[];
  removed: string[];
  /** Rebuilt (source or output settings changed). */
  restarted: string[];
  /** Only name/number/provider changed: SI updated in place, source untouched. */
  updated: string[];
  unchanged: string[];
  /**
   * Headend settings that changed but take effect only after a daemon restart (http, rtsp,
   * sap, name, ffmpeg): the running services keep their old settings.
   */
  restartRequired?: string[];
}
