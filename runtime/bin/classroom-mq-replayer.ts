#!/usr/bin/env node
// `classroom-mq-replayer`: the Kafka outage buffer's replayer daemon (runtime/mq/README.md).
// The entry module starts on import; this file only gives it a stable command name in the package's bin.
import "../mq/replayer-main";
