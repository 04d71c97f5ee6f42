// Whether a channel's output can send: its socket opened (the output queue's `ready`) and its
// sends go out (the pacer's count of send errors against datagrams sent, sampled about once a
// second). A channel whose output cannot send is `down` whatever its sources do: in its status,
// /api/channels, /healthz and the metrics.

/** A change of the output's health, for the channel's log. */
export interface OutputHealthChange {
  level: 'info' | 'error';
  event: 'output-send-failed' | 'output-send-ok';
  message: string;
}

/** Errors on at least this share of the datagrams of a second: the output is not sending. */
const FAILING_SHARE = 0.9;

export class OutputHealth {
  private openError: string | undefined;
  private sendError: string | undefined;
  private lastSent = 0;
  private lastErrors = 0;

  /** The output queue's `ready` settled: its socket's info, or why it could not open. */
  opened(r: unknown): void {
    this.openError = r instanceof Error ? `output not open: ${r.message}` : undefined;
  }

  /**
   * The queue's cumulative counts (datagrams sent, send errors), about once a second. Errors on
   * (nearly) every datagram of the interval mean nothing leaves: a unicast receiver that
   * refuses some (ICMP port unreachable comes back for one send in two) does not count.
   */
  sample(sent: number, errors: number): OutputHealthChange | undefined {
    const ds = sent - this.lastSent;
    const de = errors - this.lastErrors;
    this.lastSent = sent;
    this.lastErrors = errors;
    const failing = de > 0 && de >= ds * FAILING_SHARE;
    if (failing && this.sendError === undefined) {
      this.sendError = `output sends fail (${de} send errors for ${ds} datagrams in a second)`;
      return { level: 'error', event: 'output-send-failed', message: this.sendError };
    }
    if (!failing && ds > 0 && this.sendError !== undefined) {
      this.sendError = undefined;
      return { level: 'info', event: 'output-send-ok', message: 'output sends go out again' };
    }
    return undefined;
  }

  /** Why the output cannot send (it did not open, or its sends fail); undefined when it can. */
  get problem(): string | undefined {
    return this.openError ?? this.sendError;
  }
}
