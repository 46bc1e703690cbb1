/**
 * `withContainersStopped` against an in-memory fake of the Docker engine's containers (the
 * real engine is in test/integration/docker-volume.test.ts; the fake makes a container that
 * refuses to start, which a real engine does not do on demand).
 */
import { describe, expect, it } from 'vitest';
import { DockerEngineError } from '../../core/errors.js';
import type { VolumeContainer, VolumeContainers } from '../../core/ports/docker-volumes.js';
import { withContainersStopped } from '../../core/usecases/with-containers-stopped.js';

class FakeContainers implements VolumeContainers {
  readonly calls: string[] = [];
  constructor(
    readonly containers: VolumeContainer[],
    private readonly refuseToStart: readonly string[] = [],
  ) {}

  async containersUsing(): Promise<VolumeContainer[]> {
    return this.containers.map((c) => ({ ...c }));
  }

  async stopContainer(id: string): Promise<void> {
    this.calls.push(`stop ${id}`);
    this.set(id, 'exited');
  }

  async startContainer(id: string): Promise<void> {
    this.calls.push(`start ${id}`);
    if (this.refuseToStart.includes(id)) throw new Error('no such image');
    this.set(id, 'running');
  }

  state(id: string): string {
    return this.containers.find((c) => c.id === id)!.state;
  }

  private set(id: string, state: string): void {
    const index = this.containers.findIndex((c) => c.id === id);
    this.containers[index] = { ...this.containers[index]!, state };
  }
}

const container = (id: string, state: string): VolumeContainer => ({ id, name: `app-${id}`, state, image: 'app' });

describe('withContainersStopped', () => {
  it('stops only the running containers, runs the work with them stopped, and starts exactly those again', async () => {
    const docker = new FakeContainers([container('a', 'running'), container('b', 'exited'), container('c', 'paused')]);
    const seen = await withContainersStopped(docker, 'data', async (pause) => {
      expect(docker.state('a')).toBe('exited');
      return pause.stopped.map((c) => c.id);
    });
    expect(seen).toEqual(['a']);
    expect(docker.calls).toEqual(['stop a', 'start a']);
    expect(docker.state('b')).toBe('exited');
    expect(docker.state('c')).toBe('paused');
  });

  it('starts them again when the work fails, and rethrows its error', async () => {
    const docker = new FakeContainers([container('a', 'running'), container('b', 'running')]);
    const failure = new Error('storage went away');
    await expect(withContainersStopped(docker, 'data', () => Promise.reject(failure))).rejects.toBe(failure);
    expect(docker.calls).toEqual(['stop a', 'stop b', 'start a', 'start b']);
  });

  it('starts them again when the run is aborted while stopping, and never starts one it did not stop', async () => {
    const controller = new AbortController();
    const docker = new FakeContainers([container('a', 'running'), container('b', 'running')]);
    const stop = docker.stopContainer.bind(docker);
    docker.stopContainer = async (id) => {
      await stop(id);
      controller.abort(new Error('interrupted'));
    };
    await expect(withContainersStopped(docker, 'data', async () => 'done', controller.signal)).rejects.toThrow('interrupted');
    expect(docker.calls).toEqual(['stop a', 'start a']);
  });

  it('fails a successful run whose container does not start again, naming what to start by hand', async () => {
    const docker = new FakeContainers([container('a', 'running'), container('b', 'running')], ['a']);
    const run = withContainersStopped(docker, 'data', async () => 'stored');
    await expect(run).rejects.toBeInstanceOf(DockerEngineError);
    await expect(run).rejects.toThrow('the run succeeded, but container(s) app-a that were running before it did not start again: start them with docker start app-a');
    expect(docker.state('b')).toBe('running');
  });
});
