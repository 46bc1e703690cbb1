import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { Context } from 'aws-lambda';
import { METRICS_NAMESPACE } from '../../../core/platform/aws-deployment.js';

/** One logger, tracer and metrics set per function instance (Powertools, DESIGN.md §9). */
export const logger = new Logger({ serviceName: 'vaultra' });
export const tracer = new Tracer({ serviceName: 'vaultra' });
export const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'vaultra' });

/** What middy hands a handler besides the event and context: a signal it aborts just before the Lambda timeout. */
export interface InvocationOptions {
  readonly signal?: AbortSignal;
}

/**
 * Wraps a handler in the middy chain every Vaultra function shares: Lambda context in each log
 * line, an X-Ray segment around the invocation, metrics flushed as EMF at the end. The handler
 * gets middy's `signal`, to pass down to its use case (catalog calls, launches).
 */
export function observed<E, R>(handler: (event: E, context: Context, options: InvocationOptions) => Promise<R>) {
  return middy(handler).use(injectLambdaContext(logger)).use(captureLambdaHandler(tracer)).use(logMetrics(metrics));
}
