#!/usr/bin/env node
// `classroom-scheduler`: the second-level scheduler daemon (runtime/scheduler/README.md).
// The entry module starts on import; this file only gives it a stable command name in the package's bin.
import "../scheduler/scheduler-main";
