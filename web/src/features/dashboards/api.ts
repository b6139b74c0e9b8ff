import { useQuery } from '@tanstack/react-query';
import { api } from '@/lib/api';
import { unwrap } from '@/lib/errors';

// The serving zone's figures (typed as plain objects in the OpenAPI document).
export interface PipelineFigure {
  status: string;
  owner_external_id: string;
  owner: string | null;
  currency: string;
  lead_count: number;
  value: string;
}
export interface OwnerWinRate {
  owner_external_id: string;
  owner: string | null;
  won: number;
  lost: number;
  rate: string | number | null;
}
export interface WinRate {
  won: number;
  lost: number;
  rate: string | number | null;
  by_owner: OwnerWinRate[];
}
export interface MonthRevenue {
  month: string;
  currency: string;
  won_count: number;
  revenue: string;
}

export function usePipeline() {
  return useQuery({
    queryKey: ['dashboard', 'pipeline'],
    queryFn: async () => (await unwrap(api.GET('/api/v1/dashboard/pipeline'))).items as unknown as PipelineFigure[],
  });
}

export function useWinRate() {
  return useQuery({
    queryKey: ['dashboard', 'win-rate'],
    queryFn: async () => (await unwrap(api.GET('/api/v1/dashboard/win-rate'))) as unknown as WinRate,
  });
}

export function useWonRevenue() {
  return useQuery({
    queryKey: ['dashboard', 'won-revenue'],
    queryFn: async () => (await unwrap(api.GET('/api/v1/dashboard/won-revenue'))).items as unknown as MonthRevenue[],
  });
}

/** The platform's own leads per state (not the lake): counts and value. */
export function useLeadAnalytics() {
  return useQuery({
    queryKey: ['dashboard', 'lead-analytics'],
    queryFn: () => unwrap(api.GET('/api/v1/leads/analytics')),
  });
}
