// Containers: created or attached, their lifecycle, devices, exec and handle.
export { Container, type ContainerEvents, type ContainerState, type OomEvent } from './container';
export { createContainer } from './create';
export { attachContainer, releaseDeadContainer } from './attach';
export type { ContainerHandle } from './handle';
export type { DevicePassthrough } from './devices';
export type { ExecProcess, ExecSpec } from './exec';
export { type ExitStatus, signalNumber } from './signals';
export { pidStartTime } from '../proc';
