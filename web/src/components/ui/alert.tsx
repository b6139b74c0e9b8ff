import * as React from 'react';
import { cn } from '@/lib/utils';

export function Alert({
  className,
  variant = 'error',
  ...props
}: React.HTMLAttributes<HTMLDivElement> & { variant?: 'error' | 'info' | 'success' | 'warning' }) {
  const colours = {
    error: 'border-red-300 bg-red-50 text-red-900',
    info: 'border-blue-300 bg-blue-50 text-blue-900',
    success: 'border-green-300 bg-green-50 text-green-900',
    warning: 'border-amber-300 bg-amber-50 text-amber-900',
  }[variant];
  return (
    <div
      role={variant === 'error' ? 'alert' : 'status'}
      className={cn('rounded-md border px-3 py-2 text-sm', colours, className)}
      {...props}
    />
  );
}
