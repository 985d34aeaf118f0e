'use client';
// The tabs and the classroom: the instructor's tab is broadcast, and a following student's page
// switches to the tab the instructor is on.
import { useEffect, useRef } from 'react';
import type { ViewTab } from '../../../server/protocol/classroom';
import { useClassView } from '../classroom/use-view';

export function useTabFollow(tab: ViewTab, open: (t: ViewTab) => void): void {
  const { report, followed } = useClassView();
  useEffect(() => report?.({ tab }), [report, tab]);
  const openRef = useRef(open);
  openRef.current = open;
  const theirs = followed?.tab;
  useEffect(() => {
    if (theirs) openRef.current(theirs);
  }, [theirs]);
}
