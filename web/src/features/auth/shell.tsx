import * as React from 'react';
import { LanguageSwitch } from '@/components/language-switch';

/** The frame of the screens before a session exists (login, single sign-on landing). */
export function AuthShell({ children }: { children: React.ReactNode }) {
  return (
    <div className="flex min-h-screen flex-col items-center justify-center bg-slate-100 p-4">
      <div className="mb-4 flex w-full max-w-sm items-center justify-between">
        <span className="text-2xl font-bold text-blue-800">Tentabo</span>
        <LanguageSwitch />
      </div>
      <main className="w-full max-w-sm">{children}</main>
    </div>
  );
}
