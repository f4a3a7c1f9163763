#!/usr/bin/env node
// `classroom-registrar`: mirrors Kubernetes endpoints into ZooKeeper (runtime/registrar/README.md).
// The entry module starts on import; this file only gives it a stable command name in the package's bin.
import "../registrar/registrar-main";
