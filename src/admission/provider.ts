/**
 * How a service finds the node's admission state when its `Init` does not
 * pass one: from the admission service, registered as `admission` among the
 * node's services and declaring ADMISSION_CAPABILITY. libp2p builds services
 * in the order they are listed, so `admission` comes first; a service built
 * without it fails at once, naming what to do.
 */
import { TempusError } from '../core/tempus-error.ts'
import type { AdmissionState } from './state.ts'
import type { PeerType } from '../core/peer-type.ts'

/** The capability the admission service declares; services that take their state from it depend on it. */
export const ADMISSION_CAPABILITY = '@tempus/admission'

/** What a service needs of the admission service. */
export interface AdmissionProvider {
  readonly state: AdmissionState
}

/** A service was built with no admission state to work with. */
export class MissingAdmissionError extends TempusError {
  readonly name = 'MissingAdmissionError'
  readonly code = 'missing-admission'
}

/**
 * `given` if set, else the admission service's state. `components` is
 * libp2p's components proxy, which throws for a service it does not hold.
 */
export function admissionStateOf (components: object, given: AdmissionState | undefined, service: string): AdmissionState {
  if (given != null) {
    return given
  }
  let provider: AdmissionProvider | undefined
  try {
    provider = (components as { admission?: AdmissionProvider }).admission
  } catch {
    provider = undefined
  }
  if (provider?.state == null) {
    throw new MissingAdmissionError(`${service} needs the node's admission state: pass it as Init.state, or list the admission service (services: { admission: admissionService(state), … }) before ${service}`)
  }
  return provider.state
}

/** The dependencies of a service that takes its state from the admission service unless given one. */
export function admissionDependencies (given: AdmissionState | undefined): string[] {
  return given == null ? [ADMISSION_CAPABILITY] : []
}

/** `given` if set, else the type this node enrolled as (AdmissionState.selfType). */
export function selfTypeOf (state: AdmissionState, given: PeerType | undefined, service: string): PeerType {
  const type = given ?? state.selfType
  if (type == null) {
    throw new MissingAdmissionError(`${service} needs this node's type: pass it as Init.type, or build the admission state from the node's enrolment (admissionStateFor), which knows it`)
  }
  return type
}
