'use client';
// Who this page is to the server (role, name, token mode), asked on every (re)connect, and the last
// notice the server sent before it ended the connection (kicked, tokens rotated).
import { msg } from '../../../server/protocol/i18n/msg';
import { say } from '../../i18n/current';
import { createContext, useContext, useState } from 'react';
import { ClassMe } from '../../../server/protocol/classroom';
import type { Ack } from '../../../server/protocol/common';
import { request } from '../../lib/request';
import { useSubscribe } from '../../lib/subscribe';

export interface ClassroomState {
  readonly me: ClassMe | undefined;
  readonly error: string | undefined;
  readonly notice: string | undefined;
  join(name: string): Promise<Ack<ClassMe>>;
}

export const ClassroomContext = createContext<ClassroomState>({
  me: undefined,
  error: undefined,
  notice: undefined,
  join: async () => ({ ok: false, error: say(msg('err.notConnected')) }),
});

export const useClassroom = (): ClassroomState => useContext(ClassroomContext);

export function useClassroomState(): ClassroomState {
  const [me, setMe] = useState<ClassMe | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [notice, setNotice] = useState<string | undefined>();
  const socket = useSubscribe({
    on: { 'classroom:notice': (line: string) => setNotice(line) },
    subscribe: (s) => {
      void request(s, 'classroom:me', {}, ClassMe).then(async (r) => {
        if (!r.ok) return setError(r.error);
        setError(undefined);
        // A reconnect is a new connection: a student who had joined says its name again.
        const name = me?.name;
        if (r.value.role === 'student' && !r.value.name && name) {
          const again = await request(s, 'classroom:join', { name }, ClassMe);
          if (again.ok) return setMe(again.value);
        }
        setMe(r.value);
      });
    },
  });
  return {
    me,
    error,
    notice,
    join: async (name) => {
      const r = await request(socket, 'classroom:join', { name }, ClassMe);
      if (r.ok) setMe(r.value);
      return r;
    },
  };
}
