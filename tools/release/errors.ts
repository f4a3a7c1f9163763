import { FindingsError, UserError } from "../cli/run";

/**
 * A bad release request (unknown stack, service or action, a value out of range, a step that does not
 * apply, a stack file that cannot be read or written as asked). One line per problem, exit 2.
 */
export class ReleaseError extends UserError {}

/**
 * A request the release checked and refuses or could not carry out: objects the Kubernetes schemas
 * reject, mandatory policy violations, a preview or deploy that failed, a deploy not confirmed. Exit 1.
 */
export class ReleaseRefused extends FindingsError {}
