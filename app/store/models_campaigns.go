package store

import (
	"database/sql/driver"
	"encoding/json"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// StringArray maps a PostgreSQL text[] column.
type StringArray []string

// Scan implements sql.Scanner.
func (a *StringArray) Scan(src any) error {
	return pgtype.NewMap().SQLScanner((*[]string)(a)).Scan(src)
}

// Value implements driver.Valuer as an array literal.
func (a StringArray) Value() (driver.Value, error) {
	if a == nil {
		return "{}", nil
	}
	var b strings.Builder
	b.WriteByte('{')
	for i, s := range a {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		b.WriteString(strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String(), nil
}

// Partner is an affiliate, influencer or agency the shop pays commission to.
type Partner struct {
	ID                   int64 `gorm:"primaryKey"`
	ShopID               int64
	Name                 string
	Kind                 string
	Email                string
	CustomerID           *int64
	CommissionPercent    *float64
	CommissionFixedMinor *int64
	PayoutDetails        json.RawMessage `gorm:"type:jsonb"`
	Status               string
	CreatedAt            time.Time
	UpdatedAt            time.Time
}

// TableName pins the table.
func (Partner) TableName() string { return "partners" }

// Campaign is one coupon campaign; its JSON columns hold the API's shapes.
type Campaign struct {
	ID                int64 `gorm:"primaryKey"`
	ShopID            int64
	Name              string
	Goal              string
	Status            string
	PartnerID         *int64
	Discount          json.RawMessage `gorm:"type:jsonb"`
	CodeFormat        json.RawMessage `gorm:"type:jsonb"`
	Usage             json.RawMessage `gorm:"type:jsonb"`
	Rules             json.RawMessage `gorm:"type:jsonb"`
	StartsAt          time.Time
	EndsAt            *time.Time
	CodeTTLHours      *int `gorm:"column:code_ttl_hours"`
	Holdout           float64
	HoldDays          *int
	Salt              string
	ShopifyDiscountID *string
	SyncStatus        string
	SyncError         string
	RulesVersion      int
	SyncedVersion     int
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

// TableName pins the table.
func (Campaign) TableName() string { return "campaigns" }

// CodeBatch is one generation request and its progress.
type CodeBatch struct {
	ID         int64 `gorm:"primaryKey"`
	ShopID     int64
	CampaignID int64
	PartnerID  *int64
	Channel    string
	Purpose    string
	Requested  int64
	Generated  int64
	Pushed     int64
	Failed     int64
	Status     string
	Error      string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// TableName pins the table.
func (CodeBatch) TableName() string { return "code_batches" }

// Code is one discount code the app knows.
type Code struct {
	ID                int64 `gorm:"primaryKey"`
	ShopID            int64
	CampaignID        int64
	BatchID           *int64
	Code              string
	Kind              string
	Status            string
	PartnerID         *int64
	Channel           string
	CustomerID        *int64
	CustomerEmail     *string
	UsageCap          *int
	Uses              int
	IssuedAt          *time.Time
	ExpiresAt         *time.Time
	RedeemedAt        *time.Time
	DisabledReason    string
	ShopifyState      string
	ShopifyDiscountID *string
	ShopifyCodeID     *string
	PushID            *int64
	PushError         string
	CreatedAt         time.Time
}

// TableName pins the table.
func (Code) TableName() string { return "codes" }

// CodePush is one discountRedeemCodeBulkAdd call and its bulk creation.
type CodePush struct {
	ID             int64 `gorm:"primaryKey"`
	ShopID         int64
	CampaignID     int64
	BulkCreationID *string
	CodesCount     int
	Status         string
	Imported       int
	Failed         int
	Error          string
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// TableName pins the table.
func (CodePush) TableName() string { return "code_pushes" }

// WebhookEndpoint is a shop's outbound webhook subscription.
type WebhookEndpoint struct {
	ID        int64 `gorm:"primaryKey"`
	ShopID    int64
	URL       string
	SecretEnc string
	Events    StringArray `gorm:"type:text[]"`
	Active    bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// TableName pins the table.
func (WebhookEndpoint) TableName() string { return "webhook_endpoints" }

// OutboundEvent is one event queued for one endpoint.
type OutboundEvent struct {
	ID            int64 `gorm:"primaryKey"`
	ShopID        int64
	EndpointID    int64
	EventID       string
	Type          string
	Payload       json.RawMessage `gorm:"type:jsonb"`
	Status        string
	Attempts      int
	NextAttemptAt time.Time
	LastStatus    *int
	LastError     string
	CreatedAt     time.Time
	DeliveredAt   *time.Time
}

// TableName pins the table.
func (OutboundEvent) TableName() string { return "outbound_events" }
