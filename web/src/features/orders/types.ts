import type { components } from '@/api/schema';

export type Order = components['schemas']['OrderDto'];
export type OrderLine = components['schemas']['OrderLineDto'];
export type Product = components['schemas']['ProductDto'];
export type Duration = components['schemas']['DurationDto'];
export type Quote = components['schemas']['QuoteDto'];
export type QuoteLine = components['schemas']['QuoteLineDto'];
export type BasketLine = components['schemas']['BasketLineDto'];

export const ORDER_STATES = ['created', 'sent', 'in_fulfillment', 'fulfilled', 'cancelled'] as const;
export const ORDER_EVENTS = ['send', 'start_fulfillment', 'fulfill', 'cancel'] as const;

export interface OrderFilters {
  state?: string;
  q?: string;
  sort?: string;
  partner_id?: string;
}
