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

/**
 * Wraps a handler in the middy chain every Vaultra function shares: Lambda context in each log
 * line, an X-Ray segment around the invocation, metrics flushed as EMF at the end.
 */
export function observed<E, R>(handler: (event: E, context: Context) => Promise<R>) {
  return middy(handler).use(injectLambdaContext(logger)).use(captureLambdaHandler(tracer)).use(logMetrics(metrics));
}
