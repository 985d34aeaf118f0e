export * from './common';
export * from './events';
export * from './lab';
export * from './topology';
export * from './tracer';
export * from './capture';
export * from './classroom';
export * from './session';
