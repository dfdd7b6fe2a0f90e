import { BarChart, LineChart, PolarisVizProvider } from '@shopify/polaris-viz';
import type { ReactNode } from 'react';

export interface Series {
  name: string;
  data: { key: string; value: number | null }[];
}

export function ChartsProvider({ children }: { children: ReactNode }) {
  return <PolarisVizProvider>{children}</PolarisVizProvider>;
}

// Charts have a fixed height so they never shift the layout (CLS).
export function Line({ series, height = 260 }: { series: Series[]; height?: number }) {
  return (
    <div style={{ height }} data-chart="line">
      <LineChart data={series} theme="Light" isAnimated={false} />
    </div>
  );
}

export function Bars({ series, height = 260, horizontal }: { series: Series[]; height?: number; horizontal?: boolean }) {
  return (
    <div style={{ height }} data-chart="bar">
      <BarChart data={series} theme="Light" isAnimated={false} direction={horizontal ? 'horizontal' : 'vertical'} />
    </div>
  );
}
