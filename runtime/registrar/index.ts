/**
 * What the platform needs to know about the registrar: the label and annotations it reads and its
 * environment. The daemon itself is the `classroom-registrar` bin; importing this loads no Kubernetes client.
 */
export { REGISTRAR_ANNOTATIONS, REGISTRAR_DEFAULTS, REGISTRAR_ENV, REGISTRAR_LABEL, SLICE_SERVICE_LABEL } from "./contract";
