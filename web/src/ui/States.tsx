import type { ReactNode } from 'react';
import { Banner, BlockStack, Button, Card, EmptyState, SkeletonBodyText, SkeletonDisplayText } from '@shopify/polaris';
import type { ApiError } from '../api/client';

// NotAvailable is the empty state of a feature this server does not offer yet.
export function NotAvailable({ what }: { what: string }) {
  return (
    <Card>
      <EmptyState heading={`${what} is not available yet`} image="">
        <p>This server does not provide {what.toLowerCase()} yet. It appears here as soon as it does.</p>
      </EmptyState>
    </Card>
  );
}

interface StatesProps {
  what: string;
  loading: boolean;
  error?: ApiError;
  empty: boolean;
  emptyHeading: string;
  emptyBody?: ReactNode;
  emptyAction?: { content: string; onAction: () => void };
  onRetry?: () => void;
  hasData: boolean;
  // minHeight reserves the space of the loaded content so that it does not
  // shift the page when it arrives (CLS).
  minHeight?: number;
  children: ReactNode;
}

// States renders the loading, error, not-available and empty states of one
// resource and its children when there is data to show.
export function States(p: StatesProps) {
  if (p.minHeight) return <div style={{ minHeight: p.minHeight }}>{inner(p)}</div>;
  return inner(p);
}

function inner(p: StatesProps) {
  if (p.error && !p.hasData) {
    if (p.error.notAvailable) return <NotAvailable what={p.what} />;
    return (
      <div data-state="error">
        <Banner tone="critical" title={`Could not load ${p.what.toLowerCase()}`}>
          <BlockStack gap="200">
            <p>{p.error.message}</p>
            {p.onRetry && (
              <div>
                <Button onClick={p.onRetry}>Try again</Button>
              </div>
            )}
          </BlockStack>
        </Banner>
      </div>
    );
  }
  if (p.loading && !p.hasData) {
    return (
      <div data-state="loading" aria-busy="true">
        <Card>
          <BlockStack gap="400">
            <SkeletonDisplayText size="small" />
            <SkeletonBodyText lines={4} />
          </BlockStack>
        </Card>
      </div>
    );
  }
  if (p.empty) {
    return (
      <div data-state="empty">
        <Card>
          <EmptyState heading={p.emptyHeading} image="" action={p.emptyAction}>
            {p.emptyBody && <p>{p.emptyBody}</p>}
          </EmptyState>
        </Card>
      </div>
    );
  }
  return <>{p.children}</>;
}
