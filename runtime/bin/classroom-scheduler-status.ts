#!/usr/bin/env node
// `classroom-scheduler-status`: the scheduler's status command.
// The entry module starts on import; this file only gives it a stable command name in the package's bin.
import "../scheduler/status-cli";
