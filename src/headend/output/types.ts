// What a channel's output is: the contract between the config (src/headend/config) and the pacer
// (src/scheduler), defined by the scheduler (src/scheduler/output-contract.ts).

export type {
  OutputSpec,
  OutputInfo,
  OutputModule,
  PacedOutput,
  DestinationSpec,
} from '../../scheduler/output-contract.js';
